"""The common HTTP/1.1 request, read and answered without gunicorn's general machinery.

`BufferedSyncWorker` (worker.py) holds a connection until its whole request has arrived. Most
requests are then the same shape: `POST /v1/decisions HTTP/1.1`, a dozen plain ASCII header
fields and a `Content-Length` body. For those, `read_head` builds the WSGI environ directly
and `Reply` writes the response, and the connection stays open for the client's next request
(gunicorn's sync worker closes every connection, which cost a TCP handshake and teardown per
request and most of a worker's time).

Anything `read_head` is not sure of (another version or method, a `%` in the path, a field that
is not plain ASCII, a repeated or odd `Content-Length`, `Transfer-Encoding`, `Expect`,
`Upgrade`, forwarded-scheme headers, names with `_`, too many or too long fields) returns None,
and the worker hands the connection to gunicorn's own parser as before: it alone refuses
malformed requests (as problem+json, worker.py), so this module never decides that a request is
invalid. tests/test_http_fast.py holds the environ built here to the one gunicorn builds from
the same bytes.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

# A request line of the methods the API has, an origin-form target of visible ASCII without
# `#` and not starting with `//` (which urlsplit would read as a host), and HTTP/1.1 only.
_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|PATCH|DELETE) (/(?!/)[!\"$-~]*) HTTP/1\.1")
# A field: a token name without `_` (gunicorn drops those) and a value of visible ASCII,
# spaces and tabs. Anything else (obs-text, obs-fold) is left to gunicorn.
_FIELD = re.compile(rb"([0-9A-Za-z!#$%&'*+.^`|~-]+):[ \t]*([\t -~]*?)[ \t]*")
# Fields whose presence changes framing, protocol or scheme: gunicorn's parser handles them.
_DECLINED = frozenset(
    {
        "TRANSFER-ENCODING",
        "EXPECT",
        "UPGRADE",
        "TE",
        "X-FORWARDED-PROTO",
        "X-FORWARDED-PROTOCOL",
        "X-FORWARDED-SSL",
        "FORWARDED",
    }
)
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_RESPONSE_NAME = re.compile(r"[0-9A-Za-z!#$%&'*+.^_`|~-]+")
_RESPONSE_VALUE = re.compile(r"[ \t\x21-\x7e\x80-\xff]*")


@dataclass(frozen=True)
class Limits:
    """gunicorn's request limits, so what this module takes, gunicorn would have taken."""

    request_line: int
    fields: int
    field_size: int


@dataclass
class Head:
    """A request read from a complete head: its environ entries and how to frame it."""

    environ: dict[str, Any]
    keep_alive: bool
    body_length: int


def read_head(head: bytes, limits: Limits) -> Head | None:
    """The environ entries of an ordinary HTTP/1.1 request head (no `\\r\\n\\r\\n`), or None
    when gunicorn's parser should read it."""
    lines = head.split(b"\r\n")
    # At a limit, gunicorn decides (and refuses past it).
    if len(lines[0]) >= limits.request_line or len(lines) - 1 >= limits.fields:
        return None
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None:
        return None
    method, target = line.group(1).decode("ascii"), line.group(2).decode("ascii")
    path, _, query = target.partition("?")
    if "%" in path:
        return None
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "RAW_URI": target,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if not _read_fields(lines, limits, environ):
        return None
    connection = environ.get("HTTP_CONNECTION", "keep-alive").lower()
    if connection not in ("keep-alive", "close"):
        return None
    length = environ.get("CONTENT_LENGTH", "0")
    return Head(environ, connection == "keep-alive", int(length))


def _read_fields(lines: list[bytes], limits: Limits, environ: dict[str, Any]) -> bool:
    for raw in lines[1:]:
        if len(raw) >= limits.field_size:
            return False
        field = _FIELD.fullmatch(raw)
        if field is None:
            return False
        name = field.group(1).decode("ascii").upper()
        value = field.group(2).decode("ascii")
        if name in _DECLINED:
            return False
        if name == "CONTENT-LENGTH" or name == "CONTENT-TYPE":
            key = name.replace("-", "_")
            if name == "CONTENT-LENGTH" and not value.isdigit():
                return False
        else:
            key = "HTTP_" + name.replace("-", "_")
        if key in environ:  # repeated: some fields may not be, and gunicorn knows which
            return False
        environ[key] = value
    return True


class Clock:
    """The `Date` header, formatted once a second rather than once a response."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def date(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._text = formatdate(now, usegmt=True)
        return self._text


class ResponseHeaderError(ValueError):
    """The application gave a header no HTTP response may carry."""


class Reply:
    """The `start_response` of one request, then its whole response as bytes."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.length: int | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and self.status:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = status
        self.headers = []
        self.length = None
        for name, value in headers:
            if not _RESPONSE_NAME.fullmatch(name) or not _RESPONSE_VALUE.fullmatch(value):
                raise ResponseHeaderError(f"invalid response header {name!r}")
            value = value.strip(" \t")
            lowered = name.lower()
            if lowered == "content-length":
                self.length = int(value)
            elif lowered in _HOP_BY_HOP:
                continue  # the worker frames the connection, as gunicorn does
            self.headers.append((name, value))
        return _no_write

    def bodiless(self) -> bool:
        code = int(self.status[:3])
        return code < 200 or code in (204, 304)

    def encode(self, body: bytes, keep_alive: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status}",
            "Server: gunicorn",
            f"Date: {self._clock.date()}",
            "Connection: keep-alive" if keep_alive else "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the write() callable of start_response is not supported")


def body_of(result: Iterable[bytes], limit: int | None) -> bytes:
    """The response body, read whole: the API's responses are built in memory anyway."""
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return body if limit is None else body[:limit]


def base_environ(
    shared: dict[str, Any], server: tuple[Any, ...], client: tuple[Any, ...]
) -> dict[str, Any]:
    """The entries every request on one connection shares."""
    environ = dict(shared)
    environ["SERVER_NAME"] = str(server[0])
    environ["SERVER_PORT"] = str(server[1])
    environ["REMOTE_ADDR"] = str(client[0])
    environ["REMOTE_PORT"] = str(client[1])
    environ["wsgi.url_scheme"] = "http"
    environ["SCRIPT_NAME"] = ""
    return environ


def request_environ(base: dict[str, Any], head: Head, body: bytes, sock: Any) -> dict[str, Any]:
    environ = dict(base)
    environ.update(head.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["gunicorn.socket"] = sock
    return environ
