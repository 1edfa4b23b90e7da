"""The real-name flow over HTTP against the mock NPPA: submit, poll within 48 h, the stored
identity making later decisions `verified`, the `ai` life cycle, failures as problems, and
no secret, name or ID number in any log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import CONFIGS
from flask.testing import FlaskClient
from nppa_support import APP_ID, BIZ_ID, SECRET, VirtualClock, mock_server

from youthmode.api import create_app
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.nppa.config import Endpoints, NppaSettings
from youthmode.nppa.mock_http import MockServer
from youthmode.server.config import ServerConfig

NAME, ID_NUMBER = "张小明", "110101201205011234"  # born 2012-05-01: 14 in December 2026


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(datetime(2026, 12, 4, 12, 30, tzinfo=UTC))  # Friday 20:30 in Shanghai


@pytest.fixture
def mock(clock: VirtualClock) -> Iterator[MockServer]:
    yield from mock_server(clock)


@pytest.fixture
def app_client(tmp_path: Path, clock: VirtualClock, mock: MockServer) -> FlaskClient:
    settings = NppaSettings(APP_ID, BIZ_ID, SECRET, endpoints=Endpoints.for_base(mock.url))
    config = ServerConfig(
        policies=str(CONFIGS), state_dir=str(tmp_path / "state"), decision_log="off"
    )
    app = create_app(config, clock=clock, nppa=settings)
    return app.test_client()


def decide(client: FlaskClient, subject: dict[str, object]) -> dict[str, object]:
    body = {"subject": subject, "action": "game.play"}
    answer: dict[str, object] = client.post("/v1/decisions", json=body).get_json()
    return answer


def test_a_verified_check_makes_later_decisions_verified(
    app_client: FlaskClient, mock: MockServer
) -> None:
    before = decide(app_client, {"id": "kid-1"})
    assert before["band"] == "unknown"
    mock.mock.register(ID_NUMBER, NAME)
    answer = app_client.post(
        "/v1/subjects/kid-1/nppa/check", json={"name": NAME, "id_number": ID_NUMBER}
    )
    assert answer.status_code == 200
    assert answer.get_json() == {
        "subject_id": "kid-1",
        "status": "verified",
        "verified": True,
        "birthdate": "2012-05-01",
        "message": "实名认证成功",
        "message_en": "identity verified",
    }
    after = decide(app_client, {"id": "kid-1"})
    assert after["band"] == "12-16" and after["facts"]["age"] == 14  # type: ignore[index]
    assert "unverified" not in [r["code"] for r in after["reasons"]]  # type: ignore[union-attr]
    assert after["effect"] == "allow"  # Friday 20:30, a verified 14-year-old may play
    assert decide(app_client, {"id": "kid-2"})["effect"] == "deny"  # others are not verified
    assert app_client.get("/v1/subjects/kid-1/nppa").get_json()["status"] == "verified"


def test_a_pending_check_is_polled_until_it_settles(
    app_client: FlaskClient, mock: MockServer, clock: VirtualClock
) -> None:
    mock.mock.register(ID_NUMBER, NAME, delay=3600)
    body = {"name": NAME, "id_number": ID_NUMBER}
    first = app_client.post("/v1/subjects/kid-1/nppa/check", json=body).get_json()
    assert first["status"] == "pending" and first["message_en"].startswith("verification in")
    assert app_client.post("/v1/subjects/kid-1/nppa/poll").get_json()["status"] == "pending"
    clock.advance(3601)
    service = app_client.application.extensions["youthmode_nppa"]
    assert service.realname.poll_due() == 1  # the reporter's loop polls every pending subject
    assert app_client.get("/v1/subjects/kid-1/nppa").get_json()["status"] == "verified"
    assert service.realname.poll_due() == 0  # settled: no longer listed
    assert decide(app_client, {"id": "kid-1"})["band"] == "12-16"


def test_a_check_pending_48_hours_expires(
    app_client: FlaskClient, mock: MockServer, clock: VirtualClock
) -> None:
    mock.mock.register(ID_NUMBER, NAME, delay=49 * 3600)
    body = {"name": NAME, "id_number": ID_NUMBER}
    app_client.post("/v1/subjects/kid-1/nppa/check", json=body)
    clock.advance(48 * 3600)
    queries = mock.mock.stats.requests["query"]
    expired = app_client.post("/v1/subjects/kid-1/nppa/poll").get_json()
    assert expired["status"] == "expired" and not expired["verified"]
    assert mock.mock.stats.requests["query"] == queries  # past 48 h: not asked again


def test_a_failed_check_and_a_new_ai_for_each_attempt(
    app_client: FlaskClient, mock: MockServer, clock: VirtualClock
) -> None:
    mock.mock.register(ID_NUMBER, NAME)
    wrong = app_client.post(
        "/v1/subjects/kid-1/nppa/check", json={"name": "李四", "id_number": ID_NUMBER}
    ).get_json()
    assert wrong["status"] == "failed" and wrong["message"].startswith("实名认证失败")
    clock.advance(1)  # the check bucket spaces calls (the app's clock is virtual here)
    right = app_client.post(
        "/v1/subjects/kid-1/nppa/check", json={"name": NAME, "id_number": ID_NUMBER}
    ).get_json()
    assert right["status"] == "verified"  # a second ai: the first is still kept by the NPPA
    service = app_client.application.extensions["youthmode_nppa"]
    doc = service.store.read("kid-1", lambda tx: tx.get(IDENTITY_KEY))
    ais = [c["ai"] for c in doc["checks"]]
    assert len(set(ais)) == 2 and all(len(ai) == 32 for ai in ais)
    assert ID_NUMBER not in str(doc) and NAME not in str(doc)  # never stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": NAME, "id_number": "1101"}, "id_number"),
        ({"name": NAME, "id_number": "110101201302301234"}, "id_number"),  # 30 February
        ({"name": "", "id_number": ID_NUMBER}, "name"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_sent(
    app_client: FlaskClient, mock: MockServer, body: dict[str, str], field: str
) -> None:
    answer = app_client.post("/v1/subjects/kid-1/nppa/check", json=body)
    assert answer.status_code == 400
    assert [e["loc"] for e in answer.get_json()["errors"]] == [[field]]
    assert mock.mock.stats.requests["check"] == 0


def test_an_nppa_outage_is_a_503_and_a_throttle_a_429(
    app_client: FlaskClient, mock: MockServer, clock: VirtualClock
) -> None:
    body = {"name": NAME, "id_number": ID_NUMBER}
    mock.mock.outage(30)
    down = app_client.post("/v1/subjects/kid-1/nppa/check", json=body)
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert app_client.get("/v1/subjects/kid-1/nppa").get_json()["status"] == "none"
    clock.advance(31)
    mock.mock._throttled["check"] = clock().timestamp() + 60
    throttled = app_client.post("/v1/subjects/kid-1/nppa/check", json=body)
    assert throttled.status_code == 429 and throttled.get_json()["nppa_errcode"] == 1006
    assert 59 <= int(throttled.headers["Retry-After"]) <= 60


def test_the_routes_need_the_nppa_scope_and_are_in_openapi(app_client: FlaskClient) -> None:
    paths = app_client.get("/openapi.json").get_json()["paths"]
    assert paths["/v1/subjects/{subject_id}/nppa/check"]["post"]["description"] == "Scope: `nppa`."


def test_no_secret_name_or_id_number_in_the_logs(
    app_client: FlaskClient, mock: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.mock.register(ID_NUMBER, NAME, delay=10)
    body = {"name": NAME, "id_number": ID_NUMBER}
    app_client.post("/v1/subjects/kid-1/nppa/check", json=body)
    app_client.post("/v1/subjects/kid-1/nppa/poll")
    mock.mock.outage(5)
    app_client.post("/v1/subjects/kid-1/nppa/poll")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "kid-1" in text  # the flow was logged
    for secret in (SECRET, NAME, ID_NUMBER):
        assert secret not in text


def test_a_new_ai_is_never_one_still_kept(
    app_client: FlaskClient, mock: MockServer, clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import uuid

    mock.mock.register(ID_NUMBER, NAME)
    body = {"name": "李四", "id_number": ID_NUMBER}
    app_client.post("/v1/subjects/kid-1/nppa/check", json=body)  # failed: its ai is kept 300 s
    service = app_client.application.extensions["youthmode_nppa"]
    kept = service.store.read("kid-1", lambda tx: tx.get(IDENTITY_KEY))["checks"][0]["ai"]
    fresh = uuid.UUID(int=7)
    given = iter([uuid.UUID(kept), uuid.UUID(kept), fresh])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(given))
    clock.advance(1)
    again = app_client.post("/v1/subjects/kid-1/nppa/check", json={**body, "name": NAME})
    assert again.get_json()["status"] == "verified"
    ais = [c["ai"] for c in service.store.read("kid-1", lambda tx: tx.get(IDENTITY_KEY))["checks"]]
    assert ais == [kept, fresh.hex]
