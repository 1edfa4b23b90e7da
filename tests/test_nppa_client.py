"""The NPPA client: wire format pinned to fixed vectors, the three APIs against the mock,
rate limits, the back-off after 1006, timeouts and errors as typed results."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from nppa_support import APP_ID, BIZ_ID, SECRET, VirtualClock

from youthmode.nppa import crypto
from youthmode.nppa.client import CheckResult, NppaClient, Rejection
from youthmode.nppa.config import Endpoints, NppaSettings, NppaSettingsError
from youthmode.nppa.errors import (
    NppaConfigError,
    NppaExpired,
    NppaRejected,
    NppaThrottled,
    NppaUnavailable,
)
from youthmode.nppa.mock import MockNppa
from youthmode.nppa.mock_http import MockServer, serve_mock

# Computed independently (Node's crypto, following smartwalle/wlc's client.go step by step:
# AES-128-GCM with the hex-decoded key, base64(nonce|ciphertext|tag), then sha256 over
# secret + sorted name+value pairs + body) for the key, nonce and headers below.
VECTOR_PAYLOAD = {"ai": "100000000000000001", "name": "某一一", "idNum": "110000190101010001"}
VECTOR_IV = bytes(range(12))
VECTOR_BODY = (
    '{"data":"AAECAwQFBgcICQoLUPdWrYytrVGvCBmvIL1x3T0vvXpEgd69vnz2bI9q600Us/CyjpitSPJJM3Xw'
    'PfeJm37x1Iv2r4PBKBfaC8pxLOPH/ek1E1P98U7WRVKTW7kke8irF4aSsWi6hQ=="}'
)
VECTOR_HEADERS = {"appId": "test-app-id", "bizId": "1101999999", "timestamps": "1733100000000"}
VECTOR_SIGN = "10ddc5a5d5b9f91bb72979def12d874cbcde9023c54717cc430b19aa56bbb52b"
VECTOR_QUERY_SIGN = "18bc9ab244c489b5b31c5294fa2ba0bc2462ed2b8f9679a1d7044f538ad6b4cc"


def test_body_matches_the_fixed_vector() -> None:
    assert crypto.seal_body(SECRET, VECTOR_PAYLOAD, VECTOR_IV) == VECTOR_BODY
    assert crypto.open_body(SECRET, VECTOR_BODY) == VECTOR_PAYLOAD


def test_signature_matches_the_fixed_vectors() -> None:
    assert crypto.sign(SECRET, VECTOR_HEADERS, VECTOR_BODY) == VECTOR_SIGN
    query = {**VECTOR_HEADERS, "ai": "100000000000000001"}
    assert crypto.sign(SECRET, query, "") == VECTOR_QUERY_SIGN


def test_a_tampered_body_or_a_wrong_key_does_not_open() -> None:
    data = json.loads(VECTOR_BODY)["data"]
    flipped = data[:20] + ("A" if data[20] != "A" else "B") + data[21:]
    with pytest.raises(crypto.BodyError):
        crypto.open_body(SECRET, json.dumps({"data": flipped}))
    with pytest.raises(crypto.BodyError):
        crypto.open_body("ffeeddccbbaa99887766554433221100", VECTOR_BODY)


def test_the_layout_is_nonce_ciphertext_tag() -> None:
    sealed = crypto.encrypt(SECRET, b"abc", VECTOR_IV)
    raw = base64.b64decode(sealed)
    assert raw[:12] == VECTOR_IV and len(raw) == 12 + 3 + 16


@pytest.mark.parametrize("secret", ["", "abc", "zz112233445566778899aabbccddeeff", SECRET * 2])
def test_settings_refuse_a_bad_secret_without_echoing_it(secret: str) -> None:
    with pytest.raises(NppaSettingsError) as err:
        NppaSettings(APP_ID, BIZ_ID, secret)
    assert not secret or secret not in str(err.value)


def test_settings_refuse_a_gap_that_cannot_meet_180_seconds() -> None:
    with pytest.raises(NppaSettingsError, match=r"session_gap \(160 s\).*3005"):
        NppaSettings(APP_ID, BIZ_ID, SECRET, session_gap=160, batch_delay=10)
    NppaSettings(APP_ID, BIZ_ID, SECRET, session_gap=150, batch_delay=10)  # 175 s: accepted


def test_the_secret_is_not_in_the_settings_repr() -> None:
    assert SECRET not in repr(NppaSettings(APP_ID, BIZ_ID, SECRET))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def mock(clock: VirtualClock) -> MockNppa:
    return MockNppa(APP_ID, BIZ_ID, SECRET, clock=clock)


@pytest.fixture
def server(mock: MockNppa) -> Iterator[MockServer]:
    running = serve_mock(mock)
    yield running
    running.close()


def client_for(server: MockServer, clock: VirtualClock, **settings: object) -> NppaClient:
    config = NppaSettings(APP_ID, BIZ_ID, SECRET, endpoints=Endpoints.for_base(server.url))
    for name, value in settings.items():
        object.__setattr__(config, name, value)
    return NppaClient(config, clock=clock, sleep=clock.sleep)


def test_check_query_and_the_ai_life_cycle(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    mock.register("110101201001011234", "张三", delay=30)
    assert client.check("ai-1", "张三", "110101201001011234") == CheckResult("pending")
    assert client.query("ai-1") == CheckResult("pending")
    with pytest.raises(NppaRejected) as reused:
        client.check("ai-1", "张三", "110101201001011234")
    assert reused.value.code == 2004 and reused.value.message_zh == "编码已经被占用"
    clock.advance(31)
    done = client.query("ai-1")
    assert done.status == "ok" and done.pi is not None and len(done.pi) == 38
    clock.advance(299)
    assert client.query("ai-1") == done  # kept for 300 s after the query that saw it
    clock.advance(2)
    with pytest.raises(NppaRejected) as gone:
        client.query("ai-1")
    assert gone.value.code == 2003
    assert client.check("ai-1", "张三", "110101201001011234").status == "pending"  # free again


def test_a_wrong_name_fails_and_a_bad_id_is_2001(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    mock.register("110101201001011234", "张三")
    assert client.check("a", "李四", "110101201001011234") == CheckResult("failed")
    with pytest.raises(NppaRejected) as bad:
        client.check("b", "李四", "1101")
    assert bad.value.code == 2001


def test_loginout_reports_partial_failures_by_record(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    now = int(clock().timestamp())
    records = [
        {"no": 1, "si": "s1", "bt": 1, "ot": now - 5, "ct": 2, "di": "d" * 32},
        {"no": 2, "si": "s2", "bt": 1, "ot": now - 200, "ct": 2, "di": "d" * 32},
        {"no": 3, "si": "s3", "bt": 1, "ot": now - 5, "ct": 0},
    ]
    assert client.loginout(records) == [
        Rejection(2, 3005, "error 3005"),
        Rejection(3, 3008, "error 3008"),
    ]
    assert [r["si"] for r in mock.accepted] == ["s1"]


def test_the_bucket_keeps_loginout_under_10_per_second(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    record = {"no": 1, "si": "s", "bt": 1, "ct": 2, "di": "d"}
    started = clock().timestamp()
    for _ in range(50):
        clock.advance(0.001)
        client.loginout([{**record, "ot": int(clock().timestamp()) - 1}])
    elapsed = clock().timestamp() - started
    assert mock.stats.requests["loginout"] == 50
    assert mock.stats.peak_per_second["loginout"] <= 10 and not mock.stats.over_rate
    assert elapsed >= 4.9  # 50 calls at under 10 a second: the bucket made it wait


def test_a_1006_backs_off_for_a_minute_without_sending(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    mock._throttled["query"] = clock().timestamp() + 60  # the NPPA throttles us
    with pytest.raises(NppaThrottled) as first:
        client.query("x")
    assert first.value.code == 1006
    sent = mock.stats.requests["query"]
    clock.advance(30)
    with pytest.raises(NppaThrottled) as local:
        client.query("x")
    assert local.value.code == 0 and 29 <= local.value.retry_after <= 30
    assert mock.stats.requests["query"] == sent  # not sent while backing off
    clock.advance(31)
    with pytest.raises(NppaRejected):  # through again: no such ai
        client.query("x")


def test_config_errors_and_expired_requests_are_typed(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    mock.app_id = "another"
    with pytest.raises(NppaConfigError) as unknown_app:
        client.query("x")
    assert unknown_app.value.code == 1008
    mock.app_id = APP_ID
    mock._secret = "ffeeddccbbaa99887766554433221100"
    with pytest.raises(NppaConfigError) as bad_sign:
        client.query("x")
    assert bad_sign.value.code == 1011
    mock._secret = SECRET
    late = NppaClient(
        client.settings,
        clock=lambda: clock() - timedelta(seconds=6),
        sleep=clock.sleep,
    )
    with pytest.raises(NppaExpired):
        late.query("x")


def test_an_outage_and_a_timeout_are_unavailable(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    mock.outage(60)
    with pytest.raises(NppaUnavailable, match="HTTP 503"):
        client.query("x")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        host, port = silent.getsockname()
        config = NppaSettings(
            APP_ID,
            BIZ_ID,
            SECRET,
            timeout=0.3,
            endpoints=Endpoints.for_base(f"http://{host}:{port}"),
        )
        with pytest.raises(NppaUnavailable, match="no answer"):
            NppaClient(config, clock=clock, sleep=clock.sleep).query("x")
    finally:
        silent.close()


def test_the_mock_throttles_a_client_over_the_rate_for_a_minute(
    server: MockServer, mock: MockNppa, clock: VirtualClock
) -> None:
    client = client_for(server, clock)
    client.buckets["loginout"].rate = client.buckets["loginout"].capacity = 1000  # no bucket
    record = {"no": 1, "si": "s", "bt": 1, "ct": 2, "di": "d"}
    answers = []
    for _ in range(11):
        clock.advance(0.05)
        try:
            client.loginout([{**record, "ot": int(clock().timestamp()) - 2}])
            answers.append(0)
        except NppaThrottled as err:
            answers.append(err.code)
    assert answers == [0] * 10 + [1006] and mock.stats.over_rate["loginout"] == 1
    client.backoffs["loginout"]._until = 0  # ignore our own back-off: the mock still refuses
    clock.advance(59)
    with pytest.raises(NppaThrottled):
        client.loginout([{**record, "ot": int(clock().timestamp()) - 2}])
    client.backoffs["loginout"]._until = 0
    clock.advance(2)  # the mock's minute is over
    assert client.loginout([{**record, "ot": int(clock().timestamp()) - 2}]) == []


def test_npa_settings_are_known_to_the_environment_check() -> None:
    from youthmode.server.config import unknown_variables

    env = {"YOUTHMODE_NPPA_APP_ID": "a", "YOUTHMODE_NPPA_SECRET_KEY": "s"}
    assert unknown_variables(env) == []
    assert unknown_variables({"YOUTHMODE_NPPA_APPID": "a"})  # a typo is still named
