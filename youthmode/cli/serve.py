"""`youthmode serve`: the decision API under gunicorn. The only command that runs the server;
it imports `youthmode.server` when it runs, so the other commands never load Flask."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from youthmode.cli import flags


def register(sub: Any) -> None:
    """Add `serve` to the `youthmode` command."""
    serve = sub.add_parser("serve", help="serve the decision API under gunicorn")
    serve.add_argument("--host", help="listen address (YOUTHMODE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (YOUTHMODE_PORT, default 8080)")
    serve.add_argument(
        "--policies",
        help="policy folder (YOUTHMODE_POLICIES; default configs, else the shipped packs)",
    )
    serve.add_argument(
        "--workers", type=int, help="worker processes (YOUTHMODE_WORKERS, default 2)"
    )
    serve.add_argument("--keys-file", help="API keys file (YOUTHMODE_KEYS_FILE; none: dev mode)")
    serve.add_argument(
        "--store",
        help="ledger store URL: sqlite:///file.db, redis://host:port/db or "
        "postgresql://user@host:port/database (YOUTHMODE_STORE; `off` for none)",
    )
    serve.add_argument("--threads", type=int, help="threads per worker (YOUTHMODE_THREADS)")
    serve.add_argument("--state-dir", help="state folder (YOUTHMODE_STATE_DIR, default var)")
    serve.add_argument("--decision-log", help="file, - for stdout, or off (YOUTHMODE_DECISION_LOG)")
    serve.add_argument("--default-policy", help="policy for requests that name none")
    serve.add_argument("--poll-seconds", type=float, help="poll the policy folder (0: off)")
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="the server's own log lines: text, or one JSON object a line (YOUTHMODE_LOG_FORMAT)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="a log line per answered request (YOUTHMODE_ACCESS_LOG)",
    )
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 when the configuration or the policies are wrong."""
    from youthmode.errors import PolicyError
    from youthmode.server.config import ServerConfig
    from youthmode.server.runner import main_serve

    try:
        config = ServerConfig.from_env(
            host=args.host,
            port=args.port,
            policies=args.policies or _default_policies(),
            workers=args.workers,
            keys_file=args.keys_file,
            store=args.store,
            threads=args.threads,
            state_dir=args.state_dir,
            decision_log=args.decision_log,
            default_policy=args.default_policy,
            poll_seconds=args.poll_seconds,
            log_format=args.log_format,
            access_log=args.access_log,
        )
        return main_serve(config)
    except (PolicyError, ValueError) as err:
        print(f"youthmode: cannot serve: {err}", file=sys.stderr)
        return 2


def _default_policies() -> str | None:
    """With neither --policies nor YOUTHMODE_POLICIES: configs, or the shipped packs where there
    is no configs/ folder (`flags.default_policies`); None leaves the setting to the environment."""
    if os.environ.get("YOUTHMODE_POLICIES"):
        return None
    return flags.default_policies()
