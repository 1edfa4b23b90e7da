"""The NPPA client: `check`, `query` and `loginout`, encrypted, signed, rate-limited.

Each API has its own token bucket at (a little under) its published rate and its own
one-minute back-off after error 1006; both read the injected clock, and waiting for a token
goes through the injected ``sleep`` (tests pass one that moves a virtual clock). A call that
would wait longer than ``max_wait`` raises `NppaThrottled` without sending. Every failure is
a typed `NppaError` (errors.py); the secret key never appears in one, nor in a log line.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from youthmode.engine import system_clock
from youthmode.nppa.bucket import Backoff, Clock, TokenBucket
from youthmode.nppa.config import QPS, RATE_SHARE, Endpoints, NppaSettings
from youthmode.nppa.crypto import compact_json, seal_body, sign
from youthmode.nppa.errors import (
    NppaError,
    NppaThrottled,
    NppaUnavailable,
    error_for,
)

log = logging.getLogger("youthmode.nppa")
Api = Literal["check", "query", "loginout"]
Status = Literal["ok", "pending", "failed"]
STATUSES: dict[int, Status] = {0: "ok", 1: "pending", 2: "failed"}
PARTIAL = 3001


@dataclass(frozen=True)
class CheckResult:
    """A real-name result: ``ok`` with the NPPA's user id ``pi``, ``pending`` or ``failed``."""

    status: Status
    pi: str | None = None


@dataclass(frozen=True)
class Rejection:
    """One behaviour record the NPPA refused in a partial failure (3001)."""

    no: int
    code: int
    message: str


class NppaClient:
    """One app's connection to the NPPA (or the mock, or a test URL)."""

    def __init__(
        self,
        settings: NppaSettings,
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 1.0,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints or settings.endpoints
        self.clock, self.sleep, self.max_wait = clock, sleep, max_wait
        self.buckets = {
            api: TokenBucket(qps * RATE_SHARE, clock, capacity=1.0) for api, qps in QPS.items()
        }
        self.backoffs = {api: Backoff(clock) for api in QPS}

    # -- the three APIs -----------------------------------------------------------------------
    def check(self, ai: str, name: str, id_number: str) -> CheckResult:
        """Submit a real-name check. ``ai`` is ours (32 characters at most), unique per check."""
        payload = {"ai": ai, "name": name, "idNum": id_number}
        return _result("check", self._call("check", "POST", self.endpoints.check, {}, payload))

    def query(self, ai: str) -> CheckResult:
        """The result of a check that was pending."""
        answer = self._call("query", "GET", self.endpoints.query, {"ai": ai}, None)
        return _result("query", answer)

    def loginout(self, records: Sequence[Mapping[str, Any]]) -> list[Rejection]:
        """Report behaviour records (each with its `no`); the ones refused, if some were (3001).
        Any other failure of the whole batch raises."""
        try:
            self._call("loginout", "POST", self.endpoints.loginout, {}, {"collections": records})
        except _Partial as partial:
            return partial.rejections
        return []

    def wait_seconds(self, api: Api) -> float:
        """How long before ``api`` may be called without breaking a limit (no token taken)."""
        return self.backoffs[api].remaining()

    # -- one request --------------------------------------------------------------------------
    def _call(
        self,
        api: Api,
        method: str,
        url: str,
        query: dict[str, str],
        payload: Any,
    ) -> dict[str, Any]:
        self._admit(api)
        body = seal_body(self.settings.secret_key, payload) if payload is not None else ""
        headers = self._headers(query, body)
        if query:
            url = f"{url}?{urllib.parse.urlencode(query)}"
        answer = self._send(api, method, url, headers, body)
        code = answer.get("errcode")
        if not isinstance(code, int):
            raise NppaUnavailable(api, 0, "the answer has no `errcode`")
        if code == 0:
            return answer
        if code == PARTIAL and api == "loginout":
            raise _Partial(_rejections(answer))
        error = error_for(api, code, str(answer.get("errmsg") or ""))
        if isinstance(error, NppaThrottled):
            self.backoffs[api].trip()
        raise error

    def _admit(self, api: Api) -> None:
        """Wait for the API's token (at most ``max_wait``), or raise `NppaThrottled`."""
        blocked = self.backoffs[api].remaining()
        if blocked > 0:
            raise NppaThrottled(api, 0, "backing off after error 1006", blocked)
        waited = 0.0
        while (wait := self.buckets[api].take()) > 0:
            if waited + wait > self.max_wait:
                raise NppaThrottled(api, 0, "our own rate limit for this API", wait)
            self.sleep(wait + 1e-6)
            waited += wait

    def _headers(self, query: Mapping[str, str], body: str) -> dict[str, str]:
        signed = {
            "appId": self.settings.app_id,
            "bizId": self.settings.biz_id,
            "timestamps": str(int(self.clock().timestamp() * 1000)),
        }
        headers = dict(signed)
        headers["sign"] = sign(self.settings.secret_key, {**signed, **query}, body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        return headers

    def _send(
        self, api: Api, method: str, url: str, headers: dict[str, str], body: str
    ) -> dict[str, Any]:
        request = urllib.request.Request(
            url, data=body.encode("utf-8") if body else None, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise NppaUnavailable(api, 0, f"HTTP {err.code} from the NPPA") from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise NppaUnavailable(api, 0, f"no answer from the NPPA: {reason}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise NppaUnavailable(api, 0, "the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise NppaUnavailable(api, 0, "the answer is not a JSON object")
        return answer


class _Partial(Exception):
    def __init__(self, rejections: list[Rejection]) -> None:
        self.rejections = rejections


def _rejections(answer: Mapping[str, Any]) -> list[Rejection]:
    data = answer.get("data") or {}
    results = data.get("results") if isinstance(data, dict) else None
    out = []
    for item in results or []:
        if isinstance(item, dict) and isinstance(item.get("no"), int) and item.get("errcode"):
            out.append(Rejection(item["no"], int(item["errcode"]), str(item.get("errmsg", ""))))
    return out


def _result(api: str, answer: Mapping[str, Any]) -> CheckResult:
    data = answer.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict) or result.get("status") not in STATUSES:
        raise NppaUnavailable(api, 0, f"the answer has no result: {compact_json(answer)[:200]}")
    status = STATUSES[result["status"]]
    pi = result.get("pi") if status == "ok" else None
    if status == "ok" and not (isinstance(pi, str) and pi):
        raise NppaUnavailable(api, 0, "a successful result without `pi`")
    return CheckResult(status, pi if isinstance(pi, str) else None)


__all__ = ["CheckResult", "NppaClient", "NppaError", "Rejection"]
