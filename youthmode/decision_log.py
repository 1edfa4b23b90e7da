"""The decision log: one JSON line per decision, enough to replay it, nothing more personal.

The subject id is pseudonymised with a keyed HMAC (stable for one key, useless without it), and
birthdates never appear: the log keeps the age the engine computed. With the request's usage,
the facts (local time, day type, age) and the policy digest, a decision can be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
import threading
import weakref
from datetime import UTC, datetime
from typing import IO, Any

from youthmode.model import Decision, DecisionRequest

log = logging.getLogger("youthmode.decision_log")


class DecisionLog:
    """Writes decision records to a file, stdout (`-`), or nowhere (`off`)."""

    def __init__(self, target: str, key: bytes) -> None:
        self._key = key
        self._lock = threading.Lock()
        self._out: IO[str] | None
        if target == "off":
            self._out = None
        elif target == "-":
            self._out = sys.stdout
        else:
            handle = open(target, "a", encoding="utf-8", buffering=1)
            weakref.finalize(self, handle.close)  # open for the log's lifetime, then closed
            self._out = handle

    @property
    def enabled(self) -> bool:
        return self._out is not None

    def pseudonym(self, subject_id: str | None) -> str | None:
        if subject_id is None:
            return None
        return hmac.new(self._key, subject_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def record(
        self,
        request: DecisionRequest,
        decision: Decision,
        latency_seconds: float,
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        body = decision.model_dump(mode="json")
        entry: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "decision_id": decision.decision_id,
            "batch_id": batch_id,
            "policy": body["policy"],
            "subject": self.pseudonym(request.subject.id),
            "request": _replayable(request, decision),
            "effect": decision.effect,
            "reasons": decision.reason_codes,
            "band": decision.band,
            "remaining_seconds": decision.remaining_seconds,
            "next_allowed_at": body["next_allowed_at"],
            "facts": body["facts"],
            "latency_ms": round(latency_seconds * 1000, 3),
        }
        self.write(entry)
        return entry

    def write(self, entry: dict[str, Any]) -> None:
        if self._out is None:
            return
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._out.write(line + "\n")
            except (OSError, ValueError):
                log.exception("could not write the decision log")


def _replayable(request: DecisionRequest, decision: Decision) -> dict[str, Any]:
    """The request as the engine saw it, with the birthdate replaced by the computed age."""
    data = request.model_dump(mode="json", exclude_none=True)
    subject = data.get("subject", {})
    subject.pop("id", None)
    if subject.pop("birthdate", None) is not None:
        subject["age"] = decision.facts.age
    data["at"] = decision.facts.local_time.isoformat()
    return data
