"""`youthmode keys create | list | revoke | rotate`: the server's API keys file.

Only `create` and `rotate` print a secret (the new one, once, on stdout); what was done goes to
stderr. A running server picks up a revoke or a rotation within a second, without a restart
(`youthmode.server.auth.KeyRing.from_file`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add `keys` (create, list, revoke, rotate) to the `youthmode` command."""
    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--id", required=True, help="a name for the key, e.g. game-backend")
    create.add_argument(
        "--scopes", required=True, help="comma-separated: decide,usage,guardian,admin"
    )
    _file_flag(create)
    create.add_argument(
        "--subjects",
        metavar="PREFIX",
        help='bind the key to a tenant: only subject ids starting with PREFIX, e.g. "acme:"',
    )
    create.set_defaults(run=cmd_keys_create)
    listing = keys_sub.add_parser("list", help="list keys: id, scopes, tenant, dates, status")
    _file_flag(listing)
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.set_defaults(run=cmd_keys_list)
    revoke = keys_sub.add_parser("revoke", help="revoke a key (servers stop accepting it)")
    revoke.add_argument("id", help="the key's id")
    _file_flag(revoke)
    revoke.set_defaults(run=cmd_keys_revoke)
    rotate = keys_sub.add_parser("rotate", help="give a key a new secret and print it once")
    rotate.add_argument("id", help="the key's id")
    _file_flag(rotate)
    rotate.set_defaults(run=cmd_keys_rotate)


def _file_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", default="keys.toml", help="keys file (default keys.toml)")


def _refused(err: Exception) -> int:
    print(f"youthmode: {err}", file=sys.stderr)
    return 2


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create the key, print the secret on stdout and what was done on stderr."""
    from youthmode.server.auth import KeyFileError, create_key

    try:
        scopes = [s.strip() for s in args.scopes.split(",")]
        secret = create_key(args.file, args.id, scopes, subjects=args.subjects)
    except KeyFileError as err:
        return _refused(err)
    print(secret)
    print(
        f"key `{args.id}` added to {args.file}"
        + (f" (subject ids starting with `{args.subjects}` only)" if args.subjects else "")
        + "; this secret is shown once and not stored",
        file=sys.stderr,
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Every key of the file, revoked ones too; never a secret or a hash."""
    from youthmode.server.auth import KeyFileError
    from youthmode.server.keys_file import list_keys

    try:
        keys = list_keys(args.file)
    except KeyFileError as err:
        return _refused(err)
    rows = [
        {
            "id": k.id,
            "scopes": list(k.scopes),
            "subjects": k.subjects,
            "status": k.status,
            "created": k.created,
            "rotated": k.rotated,
            "revoked": k.revoked,
        }
        for k in keys
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    header = ("ID", "SCOPES", "SUBJECTS", "STATUS", "CREATED", "ROTATED", "REVOKED")
    table = [header] + [
        (
            k.id,
            ",".join(k.scopes),
            k.subjects or "*",
            k.status,
            k.created or "-",
            k.rotated or "-",
            k.revoked or "-",
        )
        for k in keys
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from youthmode.server.auth import KEYS_CHECK_SECONDS, KeyFileError
    from youthmode.server.keys_file import revoke_key

    try:
        revoke_key(args.file, args.id)
    except KeyFileError as err:
        return _refused(err)
    print(
        f"key `{args.id}` revoked in {args.file}; running servers refuse it within "
        f"{KEYS_CHECK_SECONDS:g}s",
        file=sys.stderr,
    )
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Print the new secret on stdout (once); the old one stops working."""
    from youthmode.server.auth import KEYS_CHECK_SECONDS, KeyFileError
    from youthmode.server.keys_file import rotate_key

    try:
        secret = rotate_key(args.file, args.id)
    except KeyFileError as err:
        return _refused(err)
    print(secret)
    print(
        f"key `{args.id}` has a new secret in {args.file}; the old one stops working on "
        f"running servers within {KEYS_CHECK_SECONDS:g}s. This secret is shown once and "
        "not stored",
        file=sys.stderr,
    )
    return 0
