"""NPPA settings: credentials from the environment, endpoints, and the reporting timings.

The secret key is read from the environment only, kept out of ``repr`` and never logged.
`NppaSettings.validate` refuses timings that cannot meet the NPPA's freshness rule: a
log-out is known only once the session gap has passed after the last use, and must then
reach the NPPA less than 180 s after that last use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from youthmode.errors import YouthmodeError
from youthmode.nppa.crypto import key_bytes
from youthmode.nppa.shards import DEFAULT_SHARDS, MAX_SHARDS

PRODUCTION_CHECK = "https://api.wlc.nppa.gov.cn/idcard/authentication/check"
PRODUCTION_QUERY = "http://api2.wlc.nppa.gov.cn/idcard/authentication/query"
PRODUCTION_LOGINOUT = "http://api2.wlc.nppa.gov.cn/behavior/collection/loginout"
TEST_BASE = "https://wlc.nppa.gov.cn/test"
FRESHNESS_SECONDS = 180  # the earliest `ot` of a batch must be less than this before `timestamps`
# Published rates (the specification's comments, anchors-2026 B2), per second.
QPS = {"check": 100, "query": 300, "loginout": 10}
# We run a little under them: our clock and the NPPA's count may disagree by a tick.
RATE_SHARE = 0.95
ENV = {
    "app_id": "YOUTHMODE_NPPA_APP_ID",
    "biz_id": "YOUTHMODE_NPPA_BIZ_ID",
    "secret_key": "YOUTHMODE_NPPA_SECRET_KEY",
    "base_url": "YOUTHMODE_NPPA_BASE_URL",
    "session_gap": "YOUTHMODE_NPPA_SESSION_GAP",
    "batch_delay": "YOUTHMODE_NPPA_BATCH_DELAY",
    "shards": "YOUTHMODE_NPPA_SHARDS",
}


class NppaSettingsError(YouthmodeError):
    """NPPA settings that cannot work; the message names the setting and the fix."""


@dataclass(frozen=True)
class Endpoints:
    """Where each API lives. ``for_base`` points all three at one server (the mock, or a
    relay); ``for_tests`` at the NPPA's test URLs with one console test code per API."""

    check: str = PRODUCTION_CHECK
    query: str = PRODUCTION_QUERY
    loginout: str = PRODUCTION_LOGINOUT

    @classmethod
    def for_base(cls, base: str) -> Endpoints:
        base = base.rstrip("/")
        return cls(
            f"{base}/idcard/authentication/check",
            f"{base}/idcard/authentication/query",
            f"{base}/behavior/collection/loginout",
        )

    @classmethod
    def for_test_code(cls, code: str, base: str = TEST_BASE) -> Endpoints:
        base = base.rstrip("/")
        return cls(
            f"{base}/authentication/check/{code}",
            f"{base}/authentication/query/{code}",
            f"{base}/collection/loginout/{code}",
        )


@dataclass(frozen=True)
class NppaSettings:
    app_id: str
    biz_id: str
    secret_key: str = field(repr=False)
    endpoints: Endpoints = field(default_factory=Endpoints)
    timeout: float = 5.0  # the specification's suggested client timeout
    session_gap: int = 120  # no use for this long ends a session (its log-out is then sent)
    batch_delay: float = 10.0  # the reporter sends at least this often
    margin: float = 10.0  # kept back from 180 s for the request's own time on the wire
    shards: int = DEFAULT_SHARDS  # reporting state split by subject (shards.py)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse settings that cannot work, naming each one."""
        if not self.app_id or not self.biz_id:
            raise NppaSettingsError(
                f"NPPA reporting needs an app id and a biz id ({ENV['app_id']}, {ENV['biz_id']})"
            )
        try:
            key_bytes(self.secret_key)
        except ValueError as err:
            raise NppaSettingsError(f"{ENV['secret_key']}: {err}") from None
        if self.session_gap < 1 or self.batch_delay <= 0 or self.timeout <= 0:
            raise NppaSettingsError("session_gap, batch_delay and timeout must be positive")
        if not 1 <= self.shards <= MAX_SHARDS:
            raise NppaSettingsError(
                f"{ENV['shards']} must be 1 to {MAX_SHARDS} (the reporting state's shards), "
                f"not {self.shards}"
            )
        budget = self.session_gap + self.batch_delay + self.timeout + self.margin
        if budget >= FRESHNESS_SECONDS:
            raise NppaSettingsError(
                f"session_gap ({self.session_gap} s) + batch_delay ({self.batch_delay:g} s) + "
                f"timeout ({self.timeout:g} s) + margin ({self.margin:g} s) = {budget:g} s: a "
                f"log-out could not reach the NPPA within {FRESHNESS_SECONDS} s of the last "
                "use (error 3005); lower the session gap or the batch delay"
            )

    @property
    def fresh_seconds(self) -> float:
        """A record is sent only while its `ot` is younger than this (else dead-lettered)."""
        return FRESHNESS_SECONDS - self.margin

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NppaSettings | None:
        """Settings from ``YOUTHMODE_NPPA_*``; None when no app id is set (NPPA off)."""
        env = os.environ if env is None else env
        if not env.get(ENV["app_id"]):
            return None
        base = env.get(ENV["base_url"])
        try:
            gap = int(env.get(ENV["session_gap"], "120"))
            delay = float(env.get(ENV["batch_delay"], "10"))
        except ValueError:
            raise NppaSettingsError(
                f"{ENV['session_gap']} and {ENV['batch_delay']} must be numbers of seconds"
            ) from None
        try:
            shards = int(env.get(ENV["shards"], str(DEFAULT_SHARDS)))
        except ValueError:
            raise NppaSettingsError(
                f"{ENV['shards']} must be a whole number (1 to {MAX_SHARDS})"
            ) from None
        return cls(
            app_id=env[ENV["app_id"]],
            biz_id=env.get(ENV["biz_id"], ""),
            secret_key=env.get(ENV["secret_key"], ""),
            endpoints=Endpoints.for_base(base) if base else Endpoints(),
            session_gap=gap,
            batch_delay=delay,
            shards=shards,
        )
