"""The worker's own HTTP/1.1 path (youthmode/server/http_fast.py) against gunicorn's parser.

Whatever head `read_head` takes must give the environ gunicorn gives for the same bytes, and
gunicorn must accept it: the fast path may decline anything, but never read a request
differently or take one gunicorn would refuse.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser
from hypothesis import given, settings
from hypothesis import strategies as st

from youthmode.server.http_fast import (
    Clock,
    Limits,
    Reply,
    base_environ,
    read_head,
    request_environ,
)

LIMITS = Limits(request_line=4094, fields=100, field_size=8190)
CLIENT = ("127.0.0.1", 40404)
SERVER = ("127.0.0.1", 8080)
COMPARED = (
    "REQUEST_METHOD",
    "RAW_URI",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "SERVER_PORT",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SCRIPT_NAME",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "wsgi.url_scheme",
    "wsgi.version",
    "wsgi.multiprocess",
    "wsgi.multithread",
    "wsgi.run_once",
    "SERVER_SOFTWARE",
)


def gunicorn_environ(raw: bytes) -> tuple[dict[str, Any], bytes, bool]:
    """What gunicorn's sync path builds from ``raw``: environ, body, keep-alive wanted."""
    cfg = Config()
    cfg.set("workers", 2)
    parser = RequestParser(cfg, iter([raw]), CLIENT)
    req = next(parser)
    _, environ = wsgi.create(req, None, CLIENT, SERVER, cfg)
    body = environ["wsgi.input"].read()
    return environ, body, not req.should_close()


def fast_environ(raw: bytes) -> tuple[dict[str, Any], bytes, bool] | None:
    end = raw.index(b"\r\n\r\n")
    head = read_head(raw[:end], LIMITS)
    if head is None:
        return None
    body = raw[end + 4 : end + 4 + head.body_length]
    shared = wsgi.base_environ(_cfg())
    environ = request_environ(base_environ(shared, SERVER, CLIENT), head, body, None)
    return environ, environ["wsgi.input"].read(), head.keep_alive


def _cfg() -> Config:
    cfg = Config()
    cfg.set("workers", 2)
    return cfg


def assert_same(raw: bytes) -> bool:
    """Assert both read ``raw`` alike when the fast path takes it; True if it took it."""
    fast = fast_environ(raw)
    if fast is None:
        return False
    ours, our_body, our_keep = fast
    theirs, their_body, their_keep = gunicorn_environ(raw)  # must not raise: gunicorn takes it
    for key in COMPARED:
        assert ours.get(key) == theirs.get(key), key
    assert {k: v for k, v in ours.items() if k.startswith("HTTP_")} == {
        k: v for k, v in theirs.items() if k.startswith("HTTP_")
    }
    assert our_body == their_body
    assert our_keep == their_keep
    return True


def test_an_ordinary_decision_request_is_read_alike() -> None:
    body = b'{"subject": {"age": 12}, "action": "game.play"}'
    raw = (
        b"POST /v1/decisions?explain=true HTTP/1.1\r\nHost: api.example:8080\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer abc\r\n"
        b"X-Request-Id: r-1\r\nAccept: */*\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    assert assert_same(raw)
    ours, _, keep = fast_environ(raw) or ({}, b"", False)
    assert ours["HTTP_ACCEPT"] == "*/*" and keep


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.0\r\n\r\n",
        b"get /healthz HTTP/1.1\r\n\r\n",
        b"GET /a%2Fb HTTP/1.1\r\n\r\n",
        b"GET //evil/x HTTP/1.1\r\n\r\n",
        b"GET /x#frag HTTP/1.1\r\n\r\n",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"POST /x HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
        b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
        b"GET /x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"GET /x HTTP/1.1\r\nX_Forwarded: 1\r\n\r\n",
        b"GET /x HTTP/1.1\r\nX-Forwarded-Proto: https\r\n\r\n",
        b"GET /x HTTP/1.1\r\nName: caf\xc3\xa9\r\n\r\n",
        b"GET /x HTTP/1.1\r\nName: a\r\n folded\r\n\r\n",
        b"GET /x HTTP/1.1\r\nName : a\r\n\r\n",
        b"GET /x HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /x HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n\r\n",
        b"GET /" + b"a" * 4094 + b" HTTP/1.1\r\n\r\n",
        b"GET /x HTTP/1.1\r\n" + b"".join(b"F%d: v\r\n" % i for i in range(100)) + b"\r\n",
        b"GET /x HTTP/1.1\r\nBig: " + b"v" * 8190 + b"\r\n\r\n",
    ],
)
def test_anything_unusual_is_left_to_gunicorn(raw: bytes) -> None:
    assert fast_environ(raw) is None


def test_connection_close_is_honoured() -> None:
    raw = b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"
    assert assert_same(raw)
    assert fast_environ(raw) is not None and not fast_environ(raw)[2]  # type: ignore[index]


# Mostly what the fast path takes, so that most examples compare two readings; the rest
# hostile, so that it is seen to decline them.
TOKEN = st.one_of(
    st.text("abcXYZ019-", min_size=1, max_size=8),
    st.text("abcXYZ019-!#$&'*+.^`|~_", min_size=1, max_size=8),
)
PLAIN = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
VALUE = st.one_of(
    PLAIN,
    PLAIN,
    PLAIN.map(lambda v: f" {v}\t"),
    st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=12),
)
TARGET = st.one_of(
    st.text("abz09/-._~!$&'()*+,;=:@?", max_size=16),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=16),
).map(lambda t: "/" + t)
NAMES = st.sampled_from(
    [
        "Host",
        "Content-Type",
        "Content-Length",
        "Connection",
        "Authorization",
        "Accept",
        "X-Request-Id",
        "Transfer-Encoding",
        "Expect",
        "Script_Name",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "POST", "HEAD", "get"]),
    target=TARGET,
    version=st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2.0", "http/1.1"]),
    fields=st.lists(st.tuples(st.one_of(NAMES, TOKEN), VALUE), max_size=6),
    body=st.binary(max_size=20),
    length=st.sampled_from(["exact", "exact", "none", "leading zero", "sign", "space"]),
)
def test_whatever_the_fast_path_takes_gunicorn_reads_the_same(
    method: str,
    target: str,
    version: str,
    fields: list[tuple[str, str]],
    body: bytes,
    length: str,
) -> None:
    lines = [f"{method} {target} {version}"]
    lines += [f"{name}: {value}" for name, value in fields]
    declared = {
        "exact": str(len(body)),
        "none": None,
        "leading zero": "0" + str(len(body)),
        "sign": "+" + str(len(body)),
        "space": f" {len(body)} ",
    }[length]
    if declared is not None:
        lines.append(f"Content-Length:{declared}")
    try:
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    except UnicodeEncodeError:
        return
    if raw.count(b"\r\n\r\n") != 1 and raw.index(b"\r\n\r\n") < len(raw) - len(body) - 4:
        return  # a value held an empty line: the head ends earlier than built
    assert_same(raw)


def test_the_response_is_framed_as_gunicorn_frames_it() -> None:
    reply = Reply(Clock())
    reply.start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", "2"), ("Connection", "x")],
    )
    raw = reply.encode(b"{}", keep_alive=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Connection: keep-alive" in lines and b"Connection: x" not in lines
    assert b"Content-Length: 2" in lines and body == b"{}"
    assert reply.length == 2 and not reply.bodiless()


def test_a_header_no_response_may_carry_is_refused() -> None:
    reply = Reply(Clock())
    with pytest.raises(ValueError, match="invalid response header"):
        reply.start_response("200 OK", [("X-Bad", "a\r\nInjected: 1")])


def test_the_body_stream_is_read_once() -> None:
    head = read_head(b"POST /x HTTP/1.1\r\nContent-Length: 3", LIMITS)
    assert head is not None
    environ = request_environ(base_environ({}, SERVER, CLIENT), head, b"abc", None)
    assert isinstance(environ["wsgi.input"], io.BytesIO) and environ["wsgi.input"].read() == b"abc"


@settings(max_examples=500, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    target=st.text("abz09/-._~!$&'()*+,;=:@?", max_size=24).map(lambda t: "/" + t),
    fields=st.dictionaries(
        st.text("abcXYZ019-", min_size=1, max_size=10).filter(
            lambda n: (
                n.upper() not in ("CONNECTION", "CONTENT-LENGTH", "TE", "UPGRADE", "EXPECT")
                and not n.upper().startswith("TRANSFER")
            )
        ),
        PLAIN,
        max_size=8,
    ),
    body=st.binary(max_size=40),
    connection=st.sampled_from([None, "keep-alive", "close", "Keep-Alive", "CLOSE"]),
)
def test_ordinary_requests_are_taken_and_read_alike(
    method: str,
    target: str,
    fields: dict[str, str],
    body: bytes,
    connection: str | None,
) -> None:
    unique = {name.upper(): (name, value) for name, value in fields.items()}
    lines = [f"{method} /{target.lstrip('/')} HTTP/1.1"]  # (`//x` would name a host)
    lines += [f"{name}: {value}" for name, value in unique.values()]
    if connection is not None:
        lines.append(f"Connection: {connection}")
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
    assert assert_same(raw)
