"""Fault suite, HTTP: nothing a caller sends breaks a subject or gets a 500 (issue 10).

Invalid Unicode, nesting, numbers and times out of bounds, on every endpoint: each is a 400
problem naming the field and the limit, and leaves the subject as it was. Each case is a
reproduction found on e482a15, where it was stored and then answered 500, or answered 500 at
once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from youthmode.api import create_app
from youthmode.server.body import MAX_DEPTH
from youthmode.server.config import ServerConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NOW = "2026-11-27T12:30:00Z"  # Friday 20:30 in Shanghai
KID = "kid-1"
DECISION = {"subject": {"id": KID, "age": 12, "verified": True}, "action": "app.use"}


@pytest.fixture
def client(tmp_path: Path, freezer: Any) -> FlaskClient:
    freezer.move_to(NOW)
    config = ServerConfig(
        policies=str(CONFIGS),
        state_dir=str(tmp_path / "state"),
        decision_log=str(tmp_path / "decisions.jsonl"),
        log_key="k",
    )
    return create_app(config).test_client()


def send(client: FlaskClient, method: str, path: str, text: str | bytes) -> Any:
    return client.open(
        path, method=method, data=text, content_type="application/json", headers={"X-Actor": "m"}
    )


def assert_problem(response: Any, status: int, loc: list[Any], code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["errors"][0]["loc"] == loc and body["errors"][0]["code"] == code, body
    return body


def assert_subject_intact(client: FlaskClient) -> None:
    """Everything that reads the subject still answers (a stored lone surrogate made each of
    these a 500 from then on)."""
    for path in (f"/v1/subjects/{KID}/guardian", f"/v1/subjects/{KID}/usage"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/v1/subjects/{KID}/guardian/log").status_code == 200
    decision = client.post("/v1/decisions?explain=true", json=DECISION)
    assert decision.status_code == 200 and decision.get_json()["facts"]["age"] == 12


LONE = "\\ud800"  # as JSON text: the six characters of the escape
EVENT = '{"id": "e1", "action": "app.use", "start": "2026-11-27T20:00:00+08:00", "end": "2026-11-27T20:10:00+08:00"}'  # noqa: E501
SURROGATE_CASES = [
    (
        "POST",
        "/v1/decisions",
        '{"subject": {"id": "%s", "age": 12}, "action": "app.use"}',
        ["subject", "id"],
    ),
    ("POST", "/v1/decisions", '{"action": "app.use%s"}', ["action"]),
    (
        "POST",
        "/v1/decisions",
        '{"action": "app.use", "resource": {"x%s": 1}}',
        ["resource", "x%s"],  # a key: shown escaped, as no answer could encode it
    ),
    (
        "POST",
        "/v1/decisions/batch",
        '{"requests": [{"action": "app.use"}, {"action": "app.use", "guardian": '
        '{"exempt_apps": ["%s"]}}]}',
        ["requests", 1, "guardian", "exempt_apps", 0],
    ),
    (
        "PATCH",
        f"/v1/subjects/{KID}/guardian",
        '{"settings": {"exempt_apps": ["com.a", "%s"]}}',
        ["settings", "exempt_apps", 1],
    ),
    (
        "POST",
        f"/v1/subjects/{KID}/guardian/requests",
        '{"minutes": 15, "note": "please %s"}',
        ["note"],
    ),
    (
        "POST",
        f"/v1/subjects/{KID}/guardian/grants",
        '{"minutes": 15, "actor": "%s"}',
        ["actor"],
    ),
    (
        "POST",
        "/v1/usage",
        '{"subject_id": "kid-1", "events": [' + EVENT.replace('"e1"', '"e%s"') + "]}",
        ["events", 0, "id"],
    ),
    (
        "POST",
        "/v1/purchases",
        '{"subject_id": "kid-1", "id": "p-%s", "action": "game.purchase", "amount": "1.00"}',
        ["id"],
    ),
    (
        "POST",
        "/v1/purchases/reserve",
        '{"subject_id": "kid-1", "order_id": "o-1", "action": "game.purchase", '
        '"amount": "1.00", "subject": {"age": 12}, "resource": {"%s": true}}',
        ["resource", "%s"],
    ),
    ("POST", "/v1/purchases/o-1/commit", '{"subject_id": "%s"}', ["subject_id"]),
]


@pytest.mark.parametrize(("method", "path", "template", "loc"), SURROGATE_CASES)
def test_a_lone_surrogate_anywhere_is_a_400_naming_the_field(
    client: FlaskClient, method: str, path: str, template: str, loc: list[Any]
) -> None:
    for lone in (LONE, "\\uDFFF", "\\udbff"):
        # In a key, the surrogate is shown escaped: no answer could encode it.
        where = [p % lone.lower() if isinstance(p, str) and "%s" in p else p for p in loc]
        response = send(client, method, path, template % lone)
        assert_problem(response, 400, where, "invalid_unicode")
    loc = [p % LONE if isinstance(p, str) and "%s" in p else p for p in loc]
    # The same surrogate as raw bytes (UTF-8 would never encode it; "surrogatepass" would).
    raw = (template % "\ud800").encode("utf-8", "surrogatepass")
    assert_problem(send(client, method, path, raw), 400, loc, "invalid_unicode")
    # UTF-16 bodies are JSON too; a lone surrogate code unit is refused there alike.
    utf16 = (template % "\ud800").encode("utf-16-le", "surrogatepass")
    assert_problem(send(client, method, path, utf16), 400, loc, "invalid_unicode")
    assert_subject_intact(client)


def test_surrogate_pairs_and_escaped_backslashes_are_fine(client: FlaskClient) -> None:
    emoji = '{"subject": {"id": "kid-\\ud83d\\ude00", "age": 12}, "action": "app.use"}'
    response = send(client, "POST", "/v1/decisions", emoji)
    assert response.status_code == 200
    not_an_escape = '{"subject": {"id": "kid-\\\\ud800", "age": 12}, "action": "app.use"}'
    assert send(client, "POST", "/v1/decisions", not_an_escape).status_code == 200
    bad_bytes = b'{"action": "app.use\xff"}'  # not UTF-8 at all: malformed, not a field
    response = send(client, "POST", "/v1/decisions", bad_bytes)
    assert response.status_code == 400 and response.get_json()["title"] == "Malformed JSON"


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        ("/v1/subjects/%ED%A0%80/usage", ["path", "subject_id"]),  # an encoded surrogate
        ("/v1/subjects/k%FF/guardian", ["path", "subject_id"]),
        (f"/v1/subjects/{KID}/guardian/log?x=%ED%A0%80", ["query", "x"]),
        (f"/v1/subjects/{KID}/usage?policy=%ED%A0%80", ["query", "policy"]),
        ("/v1/policies/%ED%A0%80", ["path", "policy_id"]),
    ],
)
def test_path_and_query_parameters_must_be_utf8(
    client: FlaskClient, path: str, loc: list[str]
) -> None:
    # Werkzeug decodes `%ED%A0%80` to U+FFFD (three of them), not to a surrogate: the id
    # would silently become another subject's, `���`.
    assert_problem(client.get(path), 400, loc, "invalid_unicode")
    for method, url in (
        ("POST", "/v1/purchases/%ED%A0%80/commit"),
        ("POST", f"/v1/subjects/{KID}/guardian/requests/r-%FF/answer"),
    ):
        response = client.open(url, method=method, json={"answer": "deny", "actor": "m"})
        assert response.status_code == 400 and response.get_json()["errors"][0]["loc"][0] == "path"
    assert client.get("/v1/subjects/%E5%AD%A9%E5%AD%90/usage").get_json()["subject_id"] == "孩子"


RESOURCE_X = '{"action": "app.use", "subject": {"age": 12}, "resource": {"x": X}}'


def nested(levels: int, inner: str = "1") -> str:
    return "[" * (levels - 1) + inner + "]" * (levels - 1)


def test_nesting_is_bounded_on_every_endpoint(client: FlaskClient) -> None:
    # 300 levels in 650 bytes: a 500 on e482a15 (pydantic could not serialise it for the
    # decision log: "Maximum serialization depth exceeded").
    body = RESOURCE_X.replace("X", nested(300))
    assert len(body) < 700
    response = send(client, "POST", "/v1/decisions", body)
    problem = assert_problem(response, 400, ["resource", "x", *[0] * 30], "too_deep")
    assert f"{MAX_DEPTH} levels" in problem["detail"]
    # The body is level 1, `resource` level 2: 30 more levels of lists are fine.
    ok = RESOURCE_X.replace("X", nested(31))
    assert send(client, "POST", "/v1/decisions", ok).status_code == 200
    for method, path, text in (
        ("POST", "/v1/decisions/batch", '{"requests": ' + nested(40, "{}") + "}"),
        ("POST", "/v1/usage", '{"subject_id": "kid-1", "events": ' + nested(300) + "}"),
        ("PATCH", f"/v1/subjects/{KID}/guardian", '{"settings": ' + nested(33) + "}"),
        ("POST", "/v1/purchases/reserve", '{"resource": {"a": ' + nested(33) + "}}"),
    ):
        assert send(client, method, path, text).get_json()["errors"][0]["code"] == "too_deep"
    far_too_deep = "[" * 100_000 + "]" * 100_000  # past the JSON decoder's own recursion
    response = send(client, "POST", "/v1/decisions", far_too_deep)
    assert response.status_code == 400 and str(MAX_DEPTH) in response.get_json()["detail"]
    assert_subject_intact(client)


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('{"action": "app.use", "resource": {"x": 1E+999999999}}', ["resource", "x"]),
        ('{"action": "app.use", "resource": {"x": -1e-999999999}}', ["resource", "x"]),
        ('{"action": "app.use", "resource": {"x": %s}}' % ("9" * 4299), ["resource", "x"]),
        ('{"action": "app.use", "subject": {"age": %s}}' % ("1" * 4301), ["subject", "age"]),
        ('{"action": "app.use", "usage": {"today_seconds": 1E+50}}', ["usage", "today_seconds"]),
        (
            '{"action": "game.purchase", "resource": {"amount": 1E+999999999}}',
            ["resource", "amount"],
        ),
        (
            '{"action": "game.purchase", "usage": {"month_spent": 1E+999999}, '
            '"resource": {"amount": "1.00"}}',
            ["usage", "month_spent"],
        ),
    ],
)
def test_numbers_out_of_range_are_400_not_an_engine_error(
    client: FlaskClient, text: str, loc: list[str]
) -> None:
    # 1E+999999999 as an amount was a fail-closed `engine_error` deny (decimal.Overflow in
    # the first sum), and 4299 digits were read into an int only to be echoed.
    for body in (text, with_subject_id(text)):  # the fast reader, and the model with the ledger
        response = send(client, "POST", "/v1/decisions", body)
        problem = assert_problem(response, 400, loc, "number_out_of_range")
        assert "at most 40 characters" in problem["errors"][0]["msg"]


def with_subject_id(text: str) -> str:
    if '"subject": {' in text:
        return text.replace('"subject": {', '"subject": {"id": "kid-1", ', 1)
    return text.replace('{"action"', '{"subject": {"id": "kid-1"}, "action"', 1)


def test_amounts_are_bounded_as_strings_too(client: FlaskClient) -> None:
    for amount in ("1E+999999999", "1000000000000.01", 10**13):  # units.MAX_AMOUNT is 10^12
        body = {"action": "game.purchase", "subject": {"age": 12}, "resource": {"amount": amount}}
        response = client.post("/v1/decisions", json=body)
        assert response.status_code == 400, amount
        assert response.get_json()["errors"][0]["loc"] == ["resource", "amount"]
    body = {"action": "game.purchase", "subject": {"age": 20}}
    for amount in ("999999999999.99", "1000000000000"):
        most = client.post("/v1/decisions", json={**body, "resource": {"amount": amount}})
        assert most.status_code == 200 and most.get_json()["facts"]["amount"] == amount
    for path, payload in (
        ("/v1/purchases", {"subject_id": KID, "id": "p1", "action": "game.purchase"}),
        ("/v1/purchases/reserve", {"subject_id": KID, "order_id": "o1", "action": "game.purchase"}),
    ):
        response = client.post(path, json={**payload, "amount": "1E+999999999"})
        assert response.status_code == 400 and response.get_json()["errors"][0]["loc"] == ["amount"]
    assert_subject_intact(client)


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+14:00",  # overflows when converted to UTC
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:30:00+01:00",  # 1999 in UTC
        "2100-01-01T00:00:00Z",
        "2099-12-31T23:00:00-01:00",  # 2100 in UTC
    ],
)
def test_decision_times_outside_2000_to_2099_are_400(client: FlaskClient, at: str) -> None:
    for subject in ({"age": 12}, {"id": KID, "age": 12}):  # the fast reader, and the model
        for query in ("", "?explain=true"):
            body = {"subject": subject, "action": "app.use", "at": at}
            assert_problem(
                client.post("/v1/decisions" + query, json=body), 400, ["at"], "invalid_value"
            )
    batch = client.post("/v1/decisions/batch", json={"requests": [{**DECISION, "at": at}]})
    assert batch.get_json()["decisions"][0]["errors"][0]["loc"] == ["at"]


@pytest.mark.parametrize(
    "at", ["2000-01-01T00:00:00Z", "2000-01-01T08:00:00+08:00", "2099-12-31T23:59:59Z"]
)
def test_the_edges_of_the_range_are_decided(client: FlaskClient, at: str) -> None:
    for subject in ({"age": 12}, {"id": KID, "age": 12}):
        response = client.post(
            "/v1/decisions", json={"subject": subject, "action": "app.use", "at": at}
        )
        assert response.status_code == 200
