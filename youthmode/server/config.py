"""Server configuration: one dataclass, filled from `youthmode serve` flags and YOUTHMODE_* env.

Every setting has one name, one environment variable and one default; docs/api.md has the table.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from youthmode.errors import did_you_mean
from youthmode.nppa.config import ENV as NPPA_ENV  # the NPPA's settings, read by nppa/config.py

if TYPE_CHECKING:
    from youthmode.ledger.settings import LedgerSettings

DEFAULT_WORKER = "youthmode.server.worker.BufferedSyncWorker"
# YOUTHMODE_* variables that are not settings but are read by the project's own tests.
NOT_SETTINGS = frozenset({"YOUTHMODE_UPDATE_GOLDEN"})


@dataclass(frozen=True)
class ServerConfig:
    """Settings of the decision API. Field metadata names the environment variable."""

    policies: str = field(default="configs", metadata={"env": "YOUTHMODE_POLICIES"})
    default_policy: str | None = field(default=None, metadata={"env": "YOUTHMODE_DEFAULT_POLICY"})
    host: str = field(default="127.0.0.1", metadata={"env": "YOUTHMODE_HOST"})
    port: int = field(default=8080, metadata={"env": "YOUTHMODE_PORT"})
    workers: int = field(default=2, metadata={"env": "YOUTHMODE_WORKERS"})
    # Deciding is CPU-bound: one request per worker at a time, and every new connection goes
    # to an idle worker. gthread workers (threads > 1) kept whole bursts of keep-alive
    # connections on one worker, halving throughput on a 2-core machine (docs/performance.md).
    threads: int = field(default=1, metadata={"env": "YOUTHMODE_THREADS"})
    # gunicorn's sync worker, but a connection reaches it only once its request has arrived,
    # so slow clients cannot hold the workers (youthmode/server/worker.py). `sync` is plain
    # gunicorn; with threads > 1, gunicorn uses gthread instead of either.
    worker_class: str = field(default=DEFAULT_WORKER, metadata={"env": "YOUTHMODE_WORKER_CLASS"})
    keys_file: str | None = field(default=None, metadata={"env": "YOUTHMODE_KEYS_FILE"})
    decision_log: str = field(default="-", metadata={"env": "YOUTHMODE_DECISION_LOG"})
    log_key: str | None = field(default=None, metadata={"env": "YOUTHMODE_LOG_KEY"})
    max_body_bytes: int = field(default=1_048_576, metadata={"env": "YOUTHMODE_MAX_BODY_BYTES"})
    batch_limit: int = field(default=1000, metadata={"env": "YOUTHMODE_BATCH_LIMIT"})
    poll_seconds: float = field(default=0.0, metadata={"env": "YOUTHMODE_POLL_SECONDS"})
    state_dir: str = field(default="var", metadata={"env": "YOUTHMODE_STATE_DIR"})
    not_ready_when_stale: bool = field(
        default=False, metadata={"env": "YOUTHMODE_NOT_READY_WHEN_STALE"}
    )
    store: str | None = field(default=None, metadata={"env": "YOUTHMODE_STORE"})
    session_gap_seconds: int = field(default=600, metadata={"env": "YOUTHMODE_SESSION_GAP"})
    hold_seconds: int = field(default=900, metadata={"env": "YOUTHMODE_HOLD_SECONDS"})
    # Ledger writes accept times within [now - accept_past_days, now + max_skew_seconds]: a
    # record is only accepted while its id is still remembered (docs/operations.md).
    accept_past_days: int = field(default=30, metadata={"env": "YOUTHMODE_ACCEPT_PAST_DAYS"})
    max_skew_seconds: int = field(default=120, metadata={"env": "YOUTHMODE_MAX_SKEW_SECONDS"})
    # Reads on the decision path give up after this long (then `on_store_error` applies).
    store_deadline_ms: int = field(default=200, metadata={"env": "YOUTHMODE_STORE_DEADLINE_MS"})
    # A request head must arrive within header_timeout seconds of the connection, its body
    # within body_timeout seconds after the head, and the client must take the response within
    # send_timeout seconds; else the connection is closed (408 when a reply can still be sent).
    # Callers are backends or a proxy on a near network: a head is one packet, sent at once.
    # 5 s still allows two lost packets (TCP retransmits after 1 s, then 2 s) and frees a
    # worker six times sooner than gunicorn's 30 s worker timeout did (docs/operations.md).
    header_timeout: float = field(default=5.0, metadata={"env": "YOUTHMODE_HEADER_TIMEOUT"})
    body_timeout: float = field(default=10.0, metadata={"env": "YOUTHMODE_BODY_TIMEOUT"})
    send_timeout: float = field(default=10.0, metadata={"env": "YOUTHMODE_SEND_TIMEOUT"})
    # An answered connection stays open this many seconds for the caller's next request (an
    # idle one costs a file descriptor, never a worker); 0 closes it after every response.
    # Behind a load balancer, set its idle timeout shorter than this.
    keepalive: int = field(default=5, metadata={"env": "YOUTHMODE_KEEPALIVE"})
    # The server's own log lines on stderr (not the decision log): `text`, or `json` for one
    # JSON object per line; and an access line per answered request (docs/operations.md).
    log_format: str = field(default="text", metadata={"env": "YOUTHMODE_LOG_FORMAT"})
    access_log: bool = field(default=False, metadata={"env": "YOUTHMODE_ACCESS_LOG"})

    def __post_init__(self) -> None:
        problems = [
            f"setting `{name}`: `{getattr(self, name)}` {why}"
            for name, ok, why in self._rules()
            if not ok
        ]
        try:
            self.ledger_settings()
        except ValueError as err:
            problems.append(f"ledger settings: {err}")
        if problems:
            raise ValueError("; ".join(problems))

    def ledger_settings(self) -> LedgerSettings:
        """The ledger's settings, checked (the acceptance window must be shorter than the
        time ids are kept; see docs/ledger.md#retention)."""
        from youthmode.ledger.settings import LedgerSettings

        return LedgerSettings(
            session_gap=self.session_gap_seconds,
            hold_seconds=self.hold_seconds,
            accept_past_days=self.accept_past_days,
            max_skew=self.max_skew_seconds,
        )

    def _rules(self) -> list[tuple[str, bool, str]]:
        seconds = "must be a number of seconds over 0"
        return [
            ("workers", self.workers >= 1, "must be at least 1"),
            ("threads", self.threads >= 1, "must be at least 1"),
            ("port", 0 <= self.port <= 65535, "is not a port (0-65535)"),
            ("max_body_bytes", self.max_body_bytes >= 0, "must not be negative"),
            ("batch_limit", self.batch_limit >= 1, "must be at least 1"),
            ("store_deadline_ms", 1 <= self.store_deadline_ms <= 10_000, "must be 1 to 10000"),
            ("header_timeout", _positive(self.header_timeout), seconds),
            ("body_timeout", _positive(self.body_timeout), seconds),
            ("send_timeout", _positive(self.send_timeout), seconds),
            ("keepalive", 0 <= self.keepalive <= 3600, "must be 0 to 3600 seconds"),
            ("log_format", self.log_format in ("text", "json"), "must be `text` or `json`"),
        ]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        """Defaults, then YOUTHMODE_* variables, then explicit ``overrides`` (flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def dev_mode(self) -> bool:
        """No API keys configured: every caller has every scope. Loopback only."""
        return self.keys_file is None

    @property
    def store_url(self) -> str | None:
        """The ledger store: `store`, else SQLite in the state folder; `off` for none."""
        if self.store == "off":
            return None
        return self.store or "sqlite:///" + str(Path(self.state_dir) / "ledger.db")


def _positive(seconds: float) -> bool:
    return 0 < seconds < math.inf


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """A message for each YOUTHMODE_* variable that names no setting: a typo would otherwise
    leave the default in force without a word."""
    prefix = "YOUTHMODE_"
    known = {f.metadata["env"] for f in fields(ServerConfig)} | set(NPPA_ENV.values())
    out = []
    for name in sorted(n for n in env if n.startswith(prefix)):
        if name not in known and name not in NOT_SETTINGS:
            # Compared without the prefix they all share, or every name looks close.
            hint = did_you_mean(name[len(prefix) :], [k[len(prefix) :] for k in known])
            hint = hint and hint.replace("`", f"`{prefix}", 1)
            out.append(f"unknown environment variable `{name}`" + (f"; {hint}" if hint else ""))
    return out


def _convert(name: str, raw: str, kind: Any) -> Any:
    text = str(kind)
    try:
        if "bool" in text:
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes", "on"}
        if "int" in text:
            return int(raw)
        if "float" in text:
            return float(raw)
    except ValueError:
        raise ValueError(f"setting `{name}`: `{raw}` is not a valid {text}") from None
    return raw


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
