"""Fault suite, HTTP fuzz: every endpoint, valid bodies with hostile values put anywhere.

Bodies start from a valid request per endpoint (as the OpenAPI schemas describe them) and get
hostile values at random places: lone surrogates in values and keys, 300-deep nesting, numbers
such as 1E+999999999 or 4,299 digits, times in year 1 and 9999, very long strings, wrong types;
path and query parameters get bytes that are not UTF-8. Whatever comes in:

- `no_server_error`: never a 5xx;
- `problem_on_error`: every 4xx is problem+json;
- `request_id_echoed`: every answer carries the caller's X-Request-Id;
- `ledger_unchanged_on_4xx`: an answer of 4xx changed no row of the SQLite ledger.

Bounded (a few hundred requests per test, a fixed seed: `derandomize`), so CI is stable.
Run only the ledger endpoints with `pytest tests/faults/test_http_fuzz.py -k ledger`.
"""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from youthmode.api import create_app
from youthmode.server.config import ServerConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# -- hostile values -----------------------------------------------------------------------------
RAW = "\x00raw:"  # a placeholder for JSON text no Python value dumps to


def raw(text: str) -> str:
    return RAW + text + RAW


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels - 1):
        value = [value]
    return value


HOSTILE: list[Any] = [
    "\ud800", "kid-\udfff", "\udbff\udc00\udc00",  # lone surrogates (a pair, then a lone one)
    deep(300), {"a": deep(40)},
    raw("1E+999999999"), raw("-1E-999999999"), raw("9" * 4299), raw("1" * 41), raw("1e400"),
    raw("0.1"), 10**30, -(10**18), -1, 0, 1, 86401, True, None, [], {}, [None], {"": None},
    "", " ", "x" * 70_000, "\x00", "\u202e", "%ED%A0%80", "../../etc", "1E+999999999",
    "NaN", "-0.00", "30.001", "1000000000000.01",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "1999-12-31T23:59:59Z", "2026-13-45T25:61:61Z",
    "2026-11-27T20:30:00", "21:00", ["25:00", "06:00"], ["21:00"], "45m", "rest_of_day",
]  # fmt: skip
HOSTILE_KEYS = ["\ud800", "x" * 300, "", "subject", "__proto__", "amount"]
PATH_VALUES = ["%ED%A0%80", "%FF", "a" * 300, "%00", "..", "%EF%BF%BD", "%E5%AD%A9", "kid-1"]
QUERIES = ["", "", "", "?explain=true", "?policy=%ED%A0%80", "?policy=nope",
           "?policy=cn-baseline", "?explain=%FF", "?x=" + "y" * 3000]  # fmt: skip


def encode(body: Any) -> bytes:
    """JSON text with lone surrogates as `\\udXXX` escapes and the raw placeholders spliced
    in: the bodies a hostile caller can send, which no Python value serialises to."""
    text = json.dumps(body, ensure_ascii=True)
    text = re.sub(r'"\\u0000raw:(.*?)\\u0000raw:"', lambda m: m.group(1), text)
    return text.encode("ascii")


# -- valid requests, one per endpoint -----------------------------------------------------------
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def iso(delta_minutes: int) -> str:
    return (NOW + timedelta(minutes=delta_minutes)).isoformat()


KID = {"age": 12, "verified": True}
Endpoint = tuple[str, str, Callable[[], Any] | None]  # method, path, valid body
DECISIONS: dict[str, Endpoint] = {
    "decision": (
        "POST",
        "/v1/decisions",
        lambda: {
            "subject": {**KID, "id": "kid-1"},
            "action": "game.purchase",
            "at": iso(0),
            "usage": {"today_seconds": 600, "month_spent": "20.00"},
            "resource": {"amount": "30.00", "currency": "CNY", "app": "g"},
            "guardian": {"extra_seconds": 600, "curfew": ["21:00", "06:00"]},
        },
    ),
    "decision-anonymous": (
        "POST",
        "/v1/decisions",
        lambda: {"subject": KID, "action": "app.use", "at": iso(0)},
    ),
    "batch": (
        "POST",
        "/v1/decisions/batch",
        lambda: {
            "requests": [
                {"subject": {**KID, "id": "kid-1"}, "action": "app.use"},
                {"subject": KID, "action": "game.play", "at": iso(0)},
            ]
        },
    ),
    "policy": ("GET", "/v1/policies/{policy}", None),
}
LEDGER: dict[str, Endpoint] = {
    "ledger-usage": (
        "POST",
        "/v1/usage",
        lambda: {
            "subject_id": "kid-1",
            "events": [{"id": "e-1", "action": "app.use", "start": iso(-20), "end": iso(-10)}],
        },
    ),
    "ledger-purchase": (
        "POST",
        "/v1/purchases",
        lambda: {
            "subject_id": "kid-1",
            "id": "p-1",
            "action": "game.purchase",
            "amount": "10.00",
            "currency": "CNY",
            "at": iso(0),
        },
    ),
    "ledger-reserve": (
        "POST",
        "/v1/purchases/reserve",
        lambda: {
            "subject_id": "kid-1",
            "order_id": "o-2",
            "action": "game.purchase",
            "amount": "10.00",
            "currency": "CNY",
            "subject": KID,
            "resource": {"app": "g"},
        },
    ),
    "ledger-commit": ("POST", "/v1/purchases/{order}/commit", lambda: {"subject_id": "kid-1"}),
    "ledger-release": ("POST", "/v1/purchases/{order}/release", lambda: {"subject_id": "kid-1"}),
    "ledger-totals": ("GET", "/v1/subjects/{subject}/usage", None),
    "ledger-guardian": ("GET", "/v1/subjects/{subject}/guardian", None),
    "ledger-guardian-patch": (
        "PATCH",
        "/v1/subjects/{subject}/guardian",
        lambda: {
            "actor": "mum",
            "settings": {
                "daily_limit": "45m",
                "curfew": ["21:00", "06:00"],
                "exempt_apps": ["com.reader"],
                "waivers": ["curfew"],
                "consents": ["livestream.host"],
            },
        },
    ),
    "ledger-grant": (
        "POST",
        "/v1/subjects/{subject}/guardian/grants",
        lambda: {"actor": "mum", "minutes": 15},
    ),
    "ledger-ask": (
        "POST",
        "/v1/subjects/{subject}/guardian/requests",
        lambda: {"minutes": 15, "note": "please"},
    ),
    "ledger-answer": (
        "POST",
        "/v1/subjects/{subject}/guardian/requests/{request}/answer",
        lambda: {"actor": "mum", "answer": "15m"},
    ),
    "ledger-log": ("GET", "/v1/subjects/{subject}/guardian/log", None),
}


# -- the app under test, with some state to act on ------------------------------------------------
class Target:
    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="youthmode-fuzz-")
        state = Path(self.folder.name)
        self.db = state / "ledger.db"
        config = ServerConfig(
            policies=str(CONFIGS),
            state_dir=str(state),
            store=f"sqlite:///{self.db}",
            decision_log=str(state / "decisions.jsonl"),  # the log serialises every request
            log_key="fuzz",
        )
        self.client: FlaskClient = create_app(config).test_client()
        self.request_id = self._seed()

    def _seed(self) -> str:
        for name in ("ledger-usage", "ledger-purchase", "ledger-guardian-patch", "ledger-grant"):
            method, path, body = LEDGER[name]
            assert body is not None
            url = path.format(subject="kid-1")
            assert self.client.open(url, method=method, json=body()).status_code == 200, name
        for order in ("o-1", "o-held"):
            reserve = {**LEDGER["ledger-reserve"][2]()}  # type: ignore[misc]
            response = self.client.post(
                "/v1/purchases/reserve", json={**reserve, "order_id": order}
            )
            assert response.status_code == 200
        asked = self.client.post("/v1/subjects/kid-1/guardian/requests", json={"minutes": 15})
        assert asked.status_code == 201
        return str(asked.get_json()["id"])

    def rows(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT subject, key, value FROM docs ORDER BY 1, 2").fetchall()


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    made = Target()
    yield made
    made.folder.cleanup()


# -- the checks -----------------------------------------------------------------------------------
def no_server_error(response: Any, case: str) -> None:
    assert response.status_code < 500, f"{case} -> {response.status_code}: {response.data[:500]!r}"


def problem_on_error(response: Any, case: str) -> None:
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json", case
        assert response.get_json()["status"] == response.status_code, case


def request_id_echoed(response: Any, case: str, sent: str) -> None:
    assert response.headers.get("X-Request-Id") == sent, case


def ledger_unchanged_on_4xx(response: Any, case: str, before: list[Any], after: list[Any]) -> None:
    if 400 <= response.status_code < 500:
        assert after == before, f"{case} -> {response.status_code} but the ledger changed"


# -- generating cases ---------------------------------------------------------------------------
Path_ = tuple[Any, ...]


def paths_in(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every place in a body: each existing key or index, and a new key in each object."""
    out: list[Path_] = [prefix]
    if isinstance(value, dict):
        out.append((*prefix, None))  # None: a new key of a hostile name
        for key, child in value.items():
            out += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += paths_in(child, (*prefix, index))
    return out


def put(body: Any, path: Path_, value: Any, key: str) -> Any:
    if not path:
        return value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[key if path[-1] is None else path[-1]] = value
    return body


@st.composite
def hostile_bodies(draw: st.DrawFn, make: Callable[[], Any]) -> Any:
    body = copy.deepcopy(make())  # hostile values go in place: nothing shared may change
    for _ in range(draw(st.sampled_from((0, 1, 1, 1, 2, 3)))):  # some stay valid: state changes
        where = draw(st.sampled_from(paths_in(body)))
        value = copy.deepcopy(draw(st.sampled_from(HOSTILE)))
        key = draw(st.sampled_from(HOSTILE_KEYS))
        body = put(body, where, value, key)
    return body


def url_for(path: str, target: Target, draw: st.DrawFn) -> str:
    def value(name: str, usual: str) -> str:
        return draw(st.sampled_from([usual, usual, *PATH_VALUES]))

    return path.format(
        subject=value("subject", "kid-1"),
        order=value("order", "o-1"),
        request=value("request", target.request_id),
        policy=value("policy", "cn-baseline"),
    ) + draw(st.sampled_from(QUERIES))


def run_case(target: Target, endpoint: Endpoint, data: st.DataObject) -> None:
    method, path, make = endpoint
    url = url_for(path, target, data.draw)
    body = encode(data.draw(hostile_bodies(make))) if make is not None else None
    sent = "fuzz-" + str(data.draw(st.integers(0, 10**6)))
    case = f"{method} {url} {body[:300]!r}" if body else f"{method} {url}"
    before = target.rows()
    response = target.client.open(
        url,
        method=method,
        data=body,
        content_type="application/json" if body is not None else None,
        headers={"X-Request-Id": sent, "X-Actor": "fuzz"},
    )
    no_server_error(response, case)
    problem_on_error(response, case)
    request_id_echoed(response, case, sent)
    ledger_unchanged_on_4xx(response, case, before, target.rows())


@pytest.mark.parametrize("name", sorted(DECISIONS))
@FUZZ
@given(data=st.data())
def test_fuzz_decisions(target: Target, name: str, data: st.DataObject) -> None:
    run_case(target, DECISIONS[name], data)


@pytest.mark.parametrize("name", sorted(LEDGER))
@FUZZ
@given(data=st.data())
def test_fuzz_ledger(target: Target, name: str, data: st.DataObject) -> None:
    run_case(target, LEDGER[name], data)


def test_fuzz_raw_texts(target: Target) -> None:
    """Bodies no mutation of a valid one reaches: not JSON, not UTF-8, nested past the
    decoder's own limit, every kind of JSON number at the edge."""
    texts = [
        b"", b"{", b"[" * 100_000, b"{}" * 10, b"\xff\xfe\x00", b'"\xed\xa0\x80"',
        b"\xef\xbb\xbf{}",
        "{}".encode("utf-16"), "{}".encode("utf-32"), b"null", b"1E+999999999", b'"x"', b"[]",
        b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e-400}',
        b'{"a": ' + b"1" * 40 + b"}", b'{"a": 0.' + b"0" * 60 + b"1}",
    ]  # fmt: skip
    rows = target.rows()
    for (method, path, _), text in [
        (endpoint, text) for endpoint in [*DECISIONS.values(), *LEDGER.values()] for text in texts
    ]:
        url = path.format(subject="kid-1", order="o-1", request=target.request_id, policy="x")
        response = target.client.open(
            url, method=method, data=text, content_type="application/json"
        )
        case = f"{method} {url} {text[:60]!r}"
        no_server_error(response, case)
        problem_on_error(response, case)
        if response.status_code >= 400:
            assert target.rows() == rows, case
        rows = target.rows()
