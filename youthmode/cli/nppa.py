"""`youthmode nppa mock|selftest|report`: China's NPPA anti-addiction system (docs/nppa.md).

- `mock` serves a mock NPPA on loopback (credentials from `YOUTHMODE_NPPA_*`), for
  integrators' own tests;
- `selftest` runs the eight onboarding cases against the NPPA's test URLs with the console's
  test codes (`--code testcase01=CODE`), or against an in-process mock (`--mock`);
- `report` runs the reporter: behaviour records from the outbox to the NPPA, pending
  real-name checks polled, metrics on `--metrics-port`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from youthmode.nppa import fixtures

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("youthmode.nppa")


def register(sub: Any) -> None:
    """Add `nppa` and its subcommands to the `youthmode` command."""
    cmd = sub.add_parser("nppa", help="China's NPPA anti-addiction system: mock, selftest, report")
    nppa = cmd.add_subparsers(dest="nppa_command", required=True)
    mock = nppa.add_parser("mock", help="serve a mock NPPA on loopback")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=8099)
    mock.set_defaults(run=run_mock)
    test = nppa.add_parser("selftest", help="run the eight onboarding test cases")
    test.add_argument(
        "--case",
        action="append",
        choices=sorted(fixtures.CASES),
        default=[],
        help="a case to run (repeatable; default: all eight)",
    )
    test.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="CASE=CODE",
        help="the console's test code of a case (repeatable)",
    )
    test.add_argument("--base", default=None, help="test URL base (default: the NPPA's)")
    test.add_argument("--mock", action="store_true", help="run against an in-process mock")
    test.set_defaults(run=run_selftest)
    report = nppa.add_parser("report", help="send behaviour records and poll pending checks")
    report.add_argument("--store", default=None, help="the ledger store URL (YOUTHMODE_STORE)")
    report.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here")
    report.add_argument("--once", action="store_true", help="one round, then exit")
    report.set_defaults(run=run_report)


def _settings() -> Any:
    from youthmode.nppa.config import NppaSettings, NppaSettingsError

    try:
        settings = NppaSettings.from_env()
    except NppaSettingsError as err:
        print(f"youthmode nppa: {err}", file=sys.stderr)
        return None
    if settings is None:
        print(
            "youthmode nppa: set YOUTHMODE_NPPA_APP_ID, YOUTHMODE_NPPA_BIZ_ID and "
            "YOUTHMODE_NPPA_SECRET_KEY",
            file=sys.stderr,
        )
    return settings


def run_mock(args: argparse.Namespace) -> int:
    """Serve the mock until interrupted."""
    from youthmode.nppa.mock import MockNppa
    from youthmode.nppa.mock_http import MockServer

    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    server = MockServer(
        MockNppa(settings.app_id, settings.biz_id, settings.secret_key), args.host, args.port
    )
    print(
        f"mock NPPA on {server.url} (test cases under {server.test_url}/...; "
        "each case's test code is its name, e.g. testcase01)",
        flush=True,
    )
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def run_selftest(args: argparse.Namespace) -> int:
    """Run the cases; exit 0 when all passed, 1 when one failed, 2 on a usage error."""
    from youthmode.nppa.config import TEST_BASE
    from youthmode.nppa.mock import MockNppa
    from youthmode.nppa.mock_http import serve_mock
    from youthmode.nppa.selftest import run_case

    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    try:
        codes = dict(item.split("=", 1) for item in args.code)
    except ValueError:
        print("youthmode nppa selftest: --code takes CASE=CODE", file=sys.stderr)
        return EXIT_USAGE
    cases = args.case or sorted(fixtures.CASES)
    server = None
    base = args.base or TEST_BASE
    if args.mock:
        server = serve_mock(MockNppa(settings.app_id, settings.biz_id, settings.secret_key))
        base = server.test_url
    missing = [c for c in cases if c not in codes and not args.mock]
    if missing:
        print(
            f"youthmode nppa selftest: no test code for {', '.join(missing)} "
            "(--code CASE=CODE, from the NPPA console)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        results = [run_case(c, settings, codes.get(c, c), base=base) for c in cases]
    finally:
        if server is not None:
            server.close()
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.case}  {result.detail}")
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def run_report(args: argparse.Namespace) -> int:
    """Report until SIGTERM/SIGINT (or one round with --once)."""
    from prometheus_client import start_http_server

    from youthmode.ledger import open_store
    from youthmode.nppa.service import NppaService
    from youthmode.server.config import ServerConfig

    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    url = args.store or os.environ.get("YOUTHMODE_STORE") or ServerConfig().store_url
    if not url or url == "off":
        print("youthmode nppa report: reporting needs the ledger's store", file=sys.stderr)
        return EXIT_USAGE
    from youthmode.nppa.shards import NppaLayoutError

    try:
        service = NppaService(settings, open_store(url))
    except NppaLayoutError as err:  # another shard count would lose or duplicate records
        print(f"youthmode nppa report: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.metrics_port:
        start_http_server(args.metrics_port, "127.0.0.1", registry=service.metrics.registry)
    if args.once:
        done = service.reporter.run_once()
        service.realname.poll_due()
        print(f"sent {done.sent}, acknowledged {done.acknowledged}, dead-lettered {done.dead}")
        return EXIT_OK
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    poller = threading.Thread(target=_poll_loop, args=(service, stop), daemon=True)
    poller.start()
    service.reporter.run_forever(stop)
    return EXIT_OK


def _poll_loop(service: Any, stop: threading.Event) -> None:
    """Pending real-name checks asked about every 10 s (TapTap's relay polls as often)."""
    while not stop.wait(10):
        try:
            service.realname.poll_due()
        except Exception:  # the loop outlives one failure; the next poll retries
            log.exception("polling pending checks failed")
