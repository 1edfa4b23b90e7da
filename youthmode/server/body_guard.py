"""`BodyGuard`: WSGI middleware that reads a request's whole body before the application runs."""

from __future__ import annotations

import io
from http import HTTPStatus
from typing import Any

from youthmode.server.connection import PROBLEM_TYPE, ReadDeadline, problem_body


class BodyGuard:
    """WSGI middleware: reads the whole request body before the application runs.

    So a body over `max_body_bytes` is a 413 also when chunked, whatever the application
    does with its stream, and a body that misses its deadline is a 408, not a 400 for a
    "disconnected" client (werkzeug's reading of an OSError).
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        declared = environ.get("CONTENT_LENGTH") or ""
        if not chunked and not (declared.isascii() and declared.isdigit()):
            return self.app(environ, start_response)  # no body, or gunicorn refused it
        if not chunked and int(declared) > self.limit:
            return _problem(start_response, 413, "the body is larger than the server accepts")
        wanted = self.limit + 1 if chunked else int(declared)
        try:
            body = read_up_to(environ["wsgi.input"], wanted)
        except ReadDeadline as err:
            return _problem(start_response, 408, str(err))
        if len(body) > self.limit:
            return _problem(start_response, 413, "the body is larger than the server accepts")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def read_up_to(stream: Any, size: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(min(65536, size - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _problem(start_response: Any, status: int, detail: str) -> list[bytes]:
    body = problem_body(status, detail)
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", PROBLEM_TYPE), ("Content-Length", str(len(body)))],
    )
    return [body]
