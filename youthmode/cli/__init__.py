"""The `youthmode` command: one module per command (or small family of commands), the flags
several commands share in `flags.py`, the parser in `parser.py`.

Commands parse flags, call the authoring library (`youthmode.authoring`) or the server, and
print; what they compute and how it reads lives in the library. `youthmode.cli:main` is the
console script and `python -m youthmode.cli` runs it too.
"""

from youthmode.cli.keys import cmd_keys_create
from youthmode.cli.parser import build_parser, main
from youthmode.cli.serve import cmd_serve

__all__ = ["build_parser", "cmd_keys_create", "cmd_serve", "main"]
