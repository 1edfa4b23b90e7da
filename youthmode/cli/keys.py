"""`youthmode keys create`: add an API key to the server's keys file and print its secret once."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add `keys` (with `keys create`) to the `youthmode` command."""
    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--id", required=True, help="a name for the key, e.g. game-backend")
    create.add_argument(
        "--scopes", required=True, help="comma-separated: decide,usage,guardian,admin"
    )
    create.add_argument("--file", default="keys.toml", help="keys file (default keys.toml)")
    create.add_argument(
        "--subjects",
        metavar="PREFIX",
        help='bind the key to a tenant: only subject ids starting with PREFIX, e.g. "acme:"',
    )
    create.set_defaults(run=cmd_keys_create)


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create the key, print the secret on stdout and what was done on stderr."""
    from youthmode.server.auth import KeyFileError, create_key

    try:
        scopes = [s.strip() for s in args.scopes.split(",")]
        secret = create_key(args.file, args.id, scopes, subjects=args.subjects)
    except KeyFileError as err:
        print(f"youthmode: {err}", file=sys.stderr)
        return 2
    print(secret)
    print(
        f"key `{args.id}` added to {args.file}"
        + (f" (subject ids starting with `{args.subjects}` only)" if args.subjects else "")
        + "; this secret is shown once and not stored",
        file=sys.stderr,
    )
    return 0
