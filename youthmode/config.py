"""Server configuration: one dataclass, filled from `youthmode serve` flags and YOUTHMODE_* env.

Every setting has one name, one environment variable and one default; docs/api.md has the table.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


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
    worker_class: str = field(default="sync", metadata={"env": "YOUTHMODE_WORKER_CLASS"})
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
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def store_url(self) -> str | None:
        """The ledger store: `store`, else SQLite in the state folder; `off` for none."""
        if self.store == "off":
            return None
        return self.store or "sqlite:///" + str(Path(self.state_dir) / "ledger.db")


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
