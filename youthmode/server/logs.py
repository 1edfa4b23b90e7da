"""The server's own logs (not the decision log): text or one JSON object per line, and the
access log.

`YOUTHMODE_LOG_FORMAT=json` makes every line the server writes to stderr, gunicorn's and
youthmode's alike, one JSON object: `ts`, `level`, `logger`, `message`, `pid`, and
`exception` when there is one. `YOUTHMODE_ACCESS_LOG=on` adds one line per answered request
(logger `youthmode.access`), written by `AccessLog` inside the app so that gunicorn's fast path
stays on. It names the route template, never the path: subject ids stay out of the logs, as
the decision log keeps them out with pseudonyms.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from youthmode.server.caller import request_id_of
from youthmode.server.http_metrics import ROUTE_KEY, UNMATCHED

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
access_log = logging.getLogger("youthmode.access")
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class JsonFormatter(logging.Formatter):
    """One log record as one line of JSON (a message's newlines are escaped in it)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        entry.update(getattr(record, "fields", None) or {})  # an access line's fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(log_format: str) -> None:
    """youthmode's loggers (and any other library's) write to stderr in ``log_format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class AccessLog:
    """WSGI middleware: one `youthmode.access` line per answer."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        status = "500"  # if the app raises before answering, the server answers 500

        def recording_start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            _log_access(environ, int(status), (time.perf_counter() - started) * 1000)


def _log_access(environ: dict[str, Any], status: int, ms: float) -> None:
    fields = {
        "method": environ.get("REQUEST_METHOD", ""),
        "route": environ.get(ROUTE_KEY, UNMATCHED),
        "status": status,
        "duration_ms": round(ms, 3),
        "request_id": request_id_of(environ),
        "remote_addr": environ.get("REMOTE_ADDR", ""),
    }
    access_log.info(
        '%s "%s %s" %d %.1fms %s',
        fields["remote_addr"],
        fields["method"],
        fields["route"],
        status,
        ms,
        fields["request_id"],
        extra={"fields": fields},
    )
