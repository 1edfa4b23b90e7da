"""The mock NPPA over HTTP: production paths and the test paths, on a loopback port.

`serve_mock` starts it in a thread (tests; `youthmode nppa mock` runs it in the foreground).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from youthmode.nppa.mock import MockNppa

ROUTES = {
    "/idcard/authentication/check": ("check", "POST"),
    "/idcard/authentication/query": ("query", "GET"),
    "/behavior/collection/loginout": ("loginout", "POST"),
}
SIGNED_HEADERS = ("appId", "bizId", "timestamps", "sign")
TEST_ROUTES = {
    "/test/authentication/check/": ("check", "POST"),
    "/test/authentication/query/": ("query", "GET"),
    "/test/collection/loginout/": ("loginout", "POST"),
}


def wsgi_app(mock: MockNppa) -> Any:
    """A WSGI app answering as the NPPA would."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        route, code = ROUTES.get(request.path), None
        if route is None:
            for prefix, found in TEST_ROUTES.items():
                if request.path.startswith(prefix):
                    route, code = found, request.path[len(prefix) :]
        if route is None:
            answer = {"errcode": 1002, "errmsg": "resource not found"}
            return _json(answer, 200)(environ, start_response)
        if request.method != route[1]:
            return _json({"errcode": 1003, "errmsg": "wrong method"}, 200)(environ, start_response)
        # HTTP header names are case-insensitive (werkzeug gives `Appid`): look each one up.
        headers = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
        body = request.get_data(as_text=True)
        result = mock.handle(route[0], request.method, headers, dict(request.args), body, code)
        return _json(result.body, result.status)(environ, start_response)

    return app


def _json(body: dict[str, Any], status: int) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, mimetype="application/json")


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request: a reporting test sends thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MockServer:
    """A running mock: ``url`` is its base (for `Endpoints.for_base`); `close` stops it."""

    def __init__(self, mock: MockNppa, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mock = mock
        self.server: BaseWSGIServer = make_server(
            host, port, wsgi_app(mock), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self.test_url = f"{self.url}/test"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> MockServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def serve_mock(mock: MockNppa, host: str = "127.0.0.1", port: int = 0) -> MockServer:
    return MockServer(mock, host, port).start()
