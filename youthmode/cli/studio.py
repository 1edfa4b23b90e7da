"""`youthmode studio [--policies DIR] [--log FILE] [--logs-dir DIR]`: Policy Studio, a local web
page for editing a pack and seeing `check`, `schedule`, `explain`, `test`, `diff`, `floor` and
a `replay` of the given decision logs on the edited text as you type. It serves on 127.0.0.1
only, prints its address, opens a browser only with `--open`, and never writes the policy files
(download the edited file from the page)."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path
from typing import Any

from youthmode.cli import flags

EXIT_OK, EXIT_USAGE = 0, 2
HOST = "127.0.0.1"  # loopback only: the studio has no API keys


def register(sub: Any) -> None:
    """Add `studio` to the `youthmode` command."""
    cmd = sub.add_parser(
        "studio",
        help="Policy Studio: edit a pack in a local web page and see check, schedule, explain, "
        "tests, diff and floor as you type",
        description="Serve Policy Studio on 127.0.0.1 and print its address. The policy files "
        "are read, never written: download the edited file from the page.",
    )
    flags.add_policies(cmd, "a policy folder or file (repeatable; default: configs)")
    cmd.add_argument(
        "--log",
        action="append",
        default=[],
        metavar="FILE",
        help="a decision log the Replay view may replay (repeatable)",
    )
    cmd.add_argument(
        "--logs-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder whose files (and theirs) the Replay view may replay (repeatable)",
    )
    cmd.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    cmd.add_argument("--open", action="store_true", help="open the page in a web browser")
    cmd.set_defaults(run=run_studio)


def run_studio(args: argparse.Namespace) -> int:
    """Serve the studio until interrupted (exit 2 on a bad folder or port)."""
    from werkzeug.serving import make_server

    from youthmode.server.studio_app import create_studio_app
    from youthmode.studio.logs import LogFolders

    folders = flags.policy_paths(args)
    missing = [f for f in folders if not Path(f).exists()]
    if missing:
        print(
            f"youthmode studio: no such policy folder or file: {', '.join(missing)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    bad_logs = [f for f in args.log if not Path(f).is_file()]
    bad_logs += [d for d in args.logs_dir if not Path(d).is_dir()]
    if bad_logs:
        print(
            f"youthmode studio: no such log file or folder: {', '.join(bad_logs)}", file=sys.stderr
        )
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print("youthmode studio: --port must be from 0 to 65535", file=sys.stderr)
        return EXIT_USAGE
    try:
        logs = LogFolders.of(args.log, args.logs_dir)
        app = create_studio_app(folders, logs=logs)
        server = make_server(HOST, args.port, app, threaded=True)
    except OSError as err:
        print(f"youthmode studio: cannot listen on {HOST}:{args.port}: {err}", file=sys.stderr)
        return EXIT_USAGE
    url = f"http://{HOST}:{server.server_port}/studio/"
    replays = ", ".join(args.log + args.logs_dir) or "none (--log, --logs-dir)"
    print(
        f"Policy Studio: {url}  (policies: {', '.join(folders)}; logs to replay: {replays}; "
        "read only; Ctrl-C stops)"
    )
    sys.stdout.flush()
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK
