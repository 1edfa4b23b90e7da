"""A mock NPPA: the rules of the real system, for tests and for integrators' own CI.

It decrypts and verifies each request as the NPPA does (headers 1004, app id 1008,
`timestamps` within 5 s 1007, signature 1011, body 1012), counts every request per API and
throttles one that goes over its rate for a minute (1006), and applies the behaviour rules
(at most 128 records, `no` 1-128, the 180 s freshness of `ot`, `ct`/`bt`/`pi`/`di`). It
answers the eight onboarding cases on the test routes, and real-name checks by a table of
identities. Its clock is injected: tests share one virtual clock with the client, so the
freshness rule is judged on the request's own `timestamps`, as the NPPA judges it.

`mock_http.py` serves it over HTTP; this module is the state and the rules, no I/O.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from youthmode.engine import Clock, system_clock
from youthmode.nppa import fixtures
from youthmode.nppa.config import FRESHNESS_SECONDS, QPS
from youthmode.nppa.crypto import BodyError, open_body, sign

TIMESTAMP_VALID_MS = 5000
THROTTLE_SECONDS = 60.0
RESULT_KEPT_SECONDS = 300.0  # a queried result is deleted this long after the query
MAX_RECORDS = 128
PI_LENGTH = 38


@dataclass
class Answer:
    status: int  # HTTP status: 200, or 503 during an outage
    body: dict[str, Any]


@dataclass
class _Check:
    status: int  # 0 ok, 1 pending, 2 failed
    pi: str
    resolves_at: float  # when a pending check settles
    final: int
    kept_until: float | None = None  # set by a query that saw a final result


@dataclass
class MockStats:
    """What the mock saw: every request, per API; the most in any one second; throttles."""

    requests: Counter[str] = field(default_factory=Counter)
    peak_per_second: Counter[str] = field(default_factory=Counter)
    over_rate: Counter[str] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)  # by errcode, records included
    during_outage: int = 0


def make_pi(id_number: str) -> str:
    """A stable 38-character `pi` for an identity (the NPPA's are opaque base-36 text)."""
    digest = int.from_bytes(hashlib.sha256(id_number.encode()).digest(), "big")
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(PI_LENGTH):
        digest, rest = divmod(digest, 36)
        out.append(chars[rest])
    return "".join(out)


class MockNppa:
    """The mock's state and rules. Thread-safe: the HTTP server calls `handle` from threads."""

    def __init__(
        self, app_id: str, biz_id: str, secret_key: str, *, clock: Clock = system_clock
    ) -> None:
        self.app_id, self.biz_id, self._secret = app_id, biz_id, secret_key
        self.clock = clock
        self.stats = MockStats()
        self.accepted: list[dict[str, Any]] = []  # behaviour records taken, in order
        self.outage_until = 0.0
        self.test_codes = {name: name for name in fixtures.CASES}  # code -> case
        self.identities: dict[str, tuple[str, int, float]] = {}  # id -> (name, final, delay)
        self._checks: dict[str, _Check] = {}
        self._recent: dict[str, deque[float]] = {api: deque() for api in QPS}
        self._throttled: dict[str, float] = dict.fromkeys(QPS, 0.0)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock().timestamp()

    def register(self, id_number: str, name: str, *, final: str = "ok", delay: float = 0) -> None:
        """How a check of this identity ends (`ok`/`failed`), after ``delay`` s of pending."""
        self.identities[id_number] = (name, {"ok": 0, "failed": 2}[final], delay)

    def outage(self, seconds: float) -> None:
        """Answer HTTP 503 to everything for the next ``seconds`` (of the mock's clock)."""
        self.outage_until = self.now() + seconds

    # -- one request ---------------------------------------------------------------------------
    def handle(
        self,
        api: str,
        method: str,
        headers: dict[str, str],
        query: dict[str, str],
        body: str,
        test_code: str | None = None,
    ) -> Answer:
        with self._lock:
            now = self.now()
            self.stats.requests[api] += 1
            if now < self.outage_until:
                self.stats.during_outage += 1
                return Answer(503, {"errcode": 1001, "errmsg": "service unavailable"})
            refused = self._gate(api, now, headers, query, body)
            if refused:
                return self._error(refused)
            payload = None
            if body:
                try:
                    payload = open_body(self._secret, body)
                except BodyError:
                    return self._error(1012)
            if test_code is not None:
                return self._test_case(api, test_code, query, payload)
            return self._serve(api, now, int(headers["timestamps"]), query, payload)

    def _gate(
        self, api: str, now: float, headers: dict[str, str], query: dict[str, str], body: str
    ) -> int:
        """The checks every request passes first; the errcode of the first that fails."""
        if self._over_rate(api, now):
            return 1006
        needed = ("appId", "bizId", "timestamps", "sign")
        if any(not headers.get(h) for h in needed):
            return 1004
        if headers["appId"] != self.app_id or headers["bizId"] != self.biz_id:
            return 1008
        try:
            stamp = int(headers["timestamps"])
        except ValueError:
            return 1004
        if abs(now * 1000 - stamp) > TIMESTAMP_VALID_MS:
            return 1007
        signed = {k: headers[k] for k in needed[:3]} | query
        if sign(self._secret, signed, body) != headers["sign"]:
            return 1011
        return 0

    def _over_rate(self, api: str, now: float) -> bool:
        """Count the request in its API's last second; over the rate throttles for a minute."""
        if now < self._throttled[api]:
            return True
        recent = self._recent[api]
        recent.append(now)
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        self.stats.peak_per_second[api] = max(self.stats.peak_per_second[api], len(recent))
        if len(recent) > QPS[api]:
            self.stats.over_rate[api] += 1
            self._throttled[api] = now + THROTTLE_SECONDS
            return True
        return False

    def _error(self, code: int) -> Answer:
        self.stats.refused[code] += 1
        return Answer(200, {"errcode": code, "errmsg": f"error {code}"})

    @staticmethod
    def _ok(data: dict[str, Any] | None = None) -> Answer:
        return Answer(200, {"errcode": 0, "errmsg": "OK", "data": data or {}})

    def _serve(
        self, api: str, now: float, stamp: int, query: dict[str, str], payload: Any
    ) -> Answer:
        self._forget(now)
        if api == "check":
            return self._check(now, payload)
        if api == "query":
            return self._query(now, query.get("ai", ""))
        return self._loginout(stamp, payload)

    # -- real-name checks ----------------------------------------------------------------------
    def _forget(self, now: float) -> None:
        gone = [ai for ai, c in self._checks.items() if c.kept_until and c.kept_until <= now]
        for ai in gone:
            del self._checks[ai]

    def _check(self, now: float, payload: Any) -> Answer:
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(k), str) and payload.get(k) for k in ("ai", "name", "idNum")
        ):
            return self._error(1012)
        ai, name, id_number = payload["ai"], payload["name"], payload["idNum"]
        if len(id_number) != 18 or not id_number[:17].isdigit():
            return self._error(2001)
        if ai in self._checks or len(ai) > 32:
            return self._error(2004)
        known_name, final, delay = self.identities.get(id_number, (name, 0, 0.0))
        if known_name != name:
            final = 2
        check = _Check(1 if delay > 0 else final, make_pi(id_number), now + delay, final)
        if delay <= 0:
            check.kept_until = now + RESULT_KEPT_SECONDS
        self._checks[ai] = check
        return self._ok({"result": self._result(check)})

    def _query(self, now: float, ai: str) -> Answer:
        check = self._checks.get(ai)
        if check is None:
            return self._error(2003)
        if check.status == 1 and now >= check.resolves_at:
            check.status = check.final
        if check.status != 1 and check.kept_until is None:
            check.kept_until = now + RESULT_KEPT_SECONDS
        return self._ok({"result": self._result(check)})

    @staticmethod
    def _result(check: _Check) -> dict[str, Any]:
        return {"status": check.status, "pi": check.pi if check.status == 0 else ""}

    # -- behaviour records ---------------------------------------------------------------------
    def _loginout(self, stamp: int, payload: Any) -> Answer:
        records = payload.get("collections") if isinstance(payload, dict) else None
        if not isinstance(records, list) or not records:
            return self._error(3002)
        if len(records) > MAX_RECORDS:
            return self._error(3003)
        failed: list[dict[str, Any]] = []
        seen: set[int] = set()
        for record in records:
            code = self._record_error(record, stamp, seen)
            no = record.get("no") if isinstance(record, dict) else None
            if code:
                self.stats.refused[code] += 1
                failed.append({"no": no, "errcode": code, "errmsg": f"error {code}"})
            else:
                self.accepted.append(dict(record, received=stamp))
        if failed:
            return Answer(200, {"errcode": 3001, "errmsg": "partial", "data": {"results": failed}})
        return self._ok({"results": []})

    @staticmethod
    def _record_error(record: Any, stamp: int, seen: set[int]) -> int:
        if not isinstance(record, dict):
            return 3004
        no, ot = record.get("no"), record.get("ot")
        if not isinstance(no, int) or not 1 <= no <= MAX_RECORDS or no in seen:
            return 3004
        seen.add(no)
        if not isinstance(ot, int) or ot * 1000 >= stamp:
            return 3005
        if stamp - ot * 1000 >= FRESHNESS_SECONDS * 1000:
            return 3005
        ct, bt = record.get("ct"), record.get("bt")
        if ct not in (0, 2):
            return 3006
        if bt not in (0, 1):
            return 3007
        if ct == 0 and not record.get("pi"):
            return 3008
        if ct == 2 and not record.get("di"):
            return 3009
        if ct == 0 and len(str(record["pi"])) != PI_LENGTH:
            return 3010
        return 0

    # -- the onboarding cases ------------------------------------------------------------------
    def _test_case(self, api: str, code: str, query: dict[str, str], payload: Any) -> Answer:
        case = fixtures.CASES.get(self.test_codes.get(code, ""))
        if case is None or case.api != api:
            return self._error(4002)
        if api == "loginout":
            records = payload.get("collections") if isinstance(payload, dict) else None
            want = 2 if case.expect == "guest" else 0
            field_name = "di" if want == 2 else "pi"
            good = (
                isinstance(records, list)
                and records
                and all(
                    isinstance(r, dict) and r.get("ct") == want and r.get(field_name)
                    for r in records
                )
            )
            return self._ok({"results": []}) if good else self._error(4003)
        presets = fixtures.presets_for(case.expect)
        ai = query.get("ai") if api == "query" else (payload or {}).get("ai")
        match = [p for p in presets if p.ai == ai]
        if not match or (api == "check" and (payload or {}).get("idNum") != match[0].id_number):
            return self._error(4003)
        status = {"ok": 0, "pending": 1, "failed": 2}[case.expect]
        pi = fixtures.PRESET_PIS[0] if status == 0 else ""
        return self._ok({"result": {"status": status, "pi": pi}})
