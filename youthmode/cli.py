"""The `youthmode` command: serve the API and manage keys; the authoring commands (check,
explain, decide, test, schema, ...) come from `youthmode.authoring`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    from youthmode.errors import PolicyError
    from youthmode.server.config import ServerConfig
    from youthmode.server.runner import main_serve

    try:
        config = ServerConfig.from_env(
            host=args.host,
            port=args.port,
            policies=args.policies,
            workers=args.workers,
            keys_file=args.keys_file,
            store=args.store,
            threads=args.threads,
            state_dir=args.state_dir,
            decision_log=args.decision_log,
            default_policy=args.default_policy,
            poll_seconds=args.poll_seconds,
        )
        return main_serve(config)
    except (PolicyError, ValueError) as err:
        print(f"youthmode: cannot serve: {err}", file=sys.stderr)
        return 2


def cmd_keys_create(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    from youthmode import __version__

    parser = argparse.ArgumentParser(prog="youthmode", description=__doc__)
    parser.add_argument("--version", action="version", version=f"youthmode {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the decision API under gunicorn")
    serve.add_argument("--host", help="listen address (YOUTHMODE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (YOUTHMODE_PORT, default 8080)")
    serve.add_argument("--policies", help="policy folder (YOUTHMODE_POLICIES, default configs)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (YOUTHMODE_WORKERS, default 2)"
    )
    serve.add_argument("--keys-file", help="API keys file (YOUTHMODE_KEYS_FILE; none: dev mode)")
    serve.add_argument("--store", help="ledger store URL (YOUTHMODE_STORE; `off` for none)")
    serve.add_argument("--threads", type=int, help="threads per worker (YOUTHMODE_THREADS)")
    serve.add_argument("--state-dir", help="state folder (YOUTHMODE_STATE_DIR, default var)")
    serve.add_argument("--decision-log", help="file, - for stdout, or off (YOUTHMODE_DECISION_LOG)")
    serve.add_argument("--default-policy", help="policy for requests that name none")
    serve.add_argument("--poll-seconds", type=float, help="poll the policy folder (0: off)")
    serve.set_defaults(run=cmd_serve)
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
    _register_authoring(sub)
    return parser


AUTHORING_MODULES = ("checking", "testing", "jsonschema", "schedule", "analysis")


def _register_authoring(sub: Any) -> None:
    """Each authoring module adds its own subcommands (`register(subparsers)`)."""
    import importlib

    for name in AUTHORING_MODULES:
        try:
            module = importlib.import_module(f"youthmode.authoring.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"youthmode.authoring.{name}":
                raise
            continue
        module.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
