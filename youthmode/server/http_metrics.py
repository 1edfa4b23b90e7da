"""`HttpMetrics`: every HTTP answer of the app counted by route template, method and status
class, and timed, in Prometheus (`youthmode_http_requests_total`,
`youthmode_http_request_duration_seconds`).

It is the outermost piece of the app's WSGI stack, so it sees the decision lane's answers and
Flask's alike. The route is the template (`/v1/subjects/{subject_id}/usage`), never the path
a caller sent: labels stay few whatever the callers send. A request no route matched is
counted under `(unmatched)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import request

if TYPE_CHECKING:
    # INVARIANT: not imported at run time. `logs.py` imports this module in the master
    # before `prepare_metrics_dir`, and prometheus_client chooses per-process or shared
    # (multiprocess) values when it is first imported.
    from youthmode.server.metrics import Metrics

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
ROUTE_KEY = "youthmode.route"  # the WSGI environ key each answering layer sets
UNMATCHED = "(unmatched)"


def openapi_path(rule: str) -> str:
    """A Flask rule as OpenAPI writes it: `<subject_id>` -> `{subject_id}`."""
    return rule.replace("<", "{").replace(">", "}")


def note_route() -> None:
    """Flask `before_request` hook: record the matched route's template for `HttpMetrics`."""
    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE_KEY] = openapi_path(rule.rule)


class HttpMetrics:
    """WSGI middleware: count and time every answer of ``app``."""

    def __init__(self, app: WsgiApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        status_class = "5xx"  # if the app raises before answering, the server answers 500

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status_class
            status_class = status[:1] + "xx"
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            route = environ.get(ROUTE_KEY, UNMATCHED)
            method = environ.get("REQUEST_METHOD", "")
            self.metrics.observe_http(route, method, status_class, time.perf_counter() - started)
