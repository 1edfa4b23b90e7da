"""The real-name flow: submit a subject's check, follow it to a result, keep the result.

`submit` sends a `check` with a fresh `ai` (32 hex digits, never used before); a result at
once is stored, a pending one is remembered and `poll` (or `poll_due`, for every subject)
asks `query` until it settles, for at most 48 hours. On success the subject's ledger
document `identity` gets the NPPA's `pi`, `verified` and the birthdate read from the ID
number, so later decisions about the subject are `verified` without the caller saying so
(ledger/identity.py). The ID number and the name are sent once and never stored.

The `ai` life cycle: each `ai` is kept in the subject's check history until its result was
taken and 300 s passed (the NPPA deletes a queried result then), or 48 h after a check that
never settled; `new_ai` never gives one that is still kept.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date
from typing import Any

from youthmode.engine import Clock, system_clock
from youthmode.errors import RequestError, RequestProblem
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.ledger.store import Store, Transaction
from youthmode.nppa.client import CheckResult, NppaClient
from youthmode.nppa.shards import ShardLayout

log = logging.getLogger("youthmode.nppa.realname")
PENDING_SECONDS = 48 * 3600  # a pending result can be queried this long
RESULT_KEPT_SECONDS = 300  # the NPPA deletes a queried result this long after the query
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
MESSAGES = {
    "verified": ("实名认证成功", "identity verified"),
    "pending": ("实名认证中，请稍后查询", "verification in progress; ask again later"),
    "failed": (
        "实名认证失败：姓名与身份证号不一致",
        "verification failed: name and ID do not match",
    ),
    "expired": (
        "48 小时内未得到认证结果，请重新提交",
        "no result within 48 hours; submit the check again",
    ),
    "none": ("尚未提交实名认证", "no real-name check submitted"),
}


def birthdate_of(id_number: str) -> date:
    """The birthdate an 18-digit resident ID number carries (characters 7-14, YYYYMMDD)."""
    text = id_number[6:14]
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def check_identity_input(name: Any, id_number: Any) -> tuple[str, str]:
    """The name and ID number, or a `RequestError` naming what is wrong (nothing is sent)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
        problems.append((("name",), "the name as on the ID card, 1 to 64 characters"))
    ok_id = isinstance(id_number, str) and ID_NUMBER.match(id_number.upper())
    if ok_id:
        try:
            birthdate_of(id_number)
        except ValueError:
            ok_id = None
    if not ok_id:
        problems.append(
            (
                ("id_number",),
                "an 18-character resident ID number (17 digits, then a digit or X) "
                "with a valid birthdate",
            )
        )
    if problems:
        raise RequestError([RequestProblem(loc, msg, "invalid_value") for loc, msg in problems])
    return name.strip(), id_number.upper()


class RealNameFlow:
    def __init__(
        self,
        client: NppaClient,
        store: Store,
        *,
        clock: Clock = system_clock,
        layout: ShardLayout | None = None,
    ) -> None:
        self.client, self.store, self.clock = client, store, clock
        self.layout = layout or ShardLayout()

    def _now(self) -> float:
        return self.clock().timestamp()

    def status(self, subject_id: str) -> dict[str, Any]:
        """The subject's verification as the API shows it (no `pi`, no ID number)."""
        doc = self.store.read(subject_id, lambda tx: tx.get(IDENTITY_KEY)) or {}
        return _public(subject_id, doc)

    def submit(self, subject_id: str, name: Any, id_number: Any) -> dict[str, Any]:
        """Check the subject's real name with the NPPA; the status after it answered."""
        name, id_number = check_identity_input(name, id_number)
        ai = self._new_ai(subject_id)
        result = self.client.check(ai, name, id_number)
        birthdate = birthdate_of(id_number).isoformat()
        doc = self._store(subject_id, ai, result, birthdate, submitted=True)
        if result.status == "pending":
            space = self.layout.space_of(subject_id)
            self.store.atomic(space, lambda tx: tx.put(f"pending/{subject_id}", {"ai": ai}))
        return _public(subject_id, doc)

    def poll(self, subject_id: str) -> dict[str, Any]:
        """Ask the NPPA about the subject's pending check (if any); the status after it."""
        doc = self.store.read(subject_id, lambda tx: tx.get(IDENTITY_KEY)) or {}
        check = _pending_check(doc)
        if check is None:
            self._unlist(subject_id)
            return _public(subject_id, doc)
        if self._now() - check["submitted_at"] >= PENDING_SECONDS:
            doc = self._store(subject_id, check["ai"], CheckResult("pending"), None, expire=True)
        else:
            doc = self._store(subject_id, check["ai"], self.client.query(check["ai"]), None)
        if _pending_check(doc) is None:
            self._unlist(subject_id)
        return _public(subject_id, doc)

    def poll_due(self) -> int:
        """Poll every subject with a pending check (listed in each subject's shard); how many
        were polled."""
        listed = self.layout.each(self.store, lambda _n, tx: tx.keys("pending/"))
        subjects = [key for shard in listed for key in shard]
        for key in subjects:
            self.poll(key.removeprefix("pending/"))
        return len(subjects)

    def _unlist(self, subject_id: str) -> None:
        space = self.layout.space_of(subject_id)
        self.store.atomic(space, lambda tx: tx.delete(f"pending/{subject_id}"))

    def _new_ai(self, subject_id: str) -> str:
        kept = self.store.read(subject_id, lambda tx: (tx.get(IDENTITY_KEY) or {}).get("checks"))
        live = {c["ai"] for c in kept or [] if not _forgotten(c, self._now())}
        while (ai := uuid.uuid4().hex) in live:  # INVARIANT: a kept `ai` is never reused
            pass
        return ai

    def _store(
        self,
        subject_id: str,
        ai: str,
        result: CheckResult,
        birthdate: str | None,
        *,
        submitted: bool = False,
        expire: bool = False,
    ) -> dict[str, Any]:
        now = self._now()

        def apply(tx: Transaction) -> dict[str, Any]:
            doc = tx.get(IDENTITY_KEY) or {}
            checks = [c for c in doc.get("checks", []) if not _forgotten(c, now)]
            check = next((c for c in checks if c["ai"] == ai), None)
            if check is None:
                check = {"ai": ai, "submitted_at": now, "birthdate": birthdate}
                checks.append(check)
            check["status"] = "expired" if expire else result.status
            if check["status"] != "pending":
                check.setdefault("settled_at", now)
            doc["checks"] = checks
            if result.status == "ok" and not expire:
                doc.update(verified=True, source="nppa", pi=result.pi, verified_at=now)
                doc["birthdate"] = check.get("birthdate")
            tx.put(IDENTITY_KEY, doc)
            return dict(doc)

        doc = self.store.atomic(subject_id, apply)
        log.info("NPPA real-name check for subject %s: %s", subject_id, result.status)
        return doc


def _forgotten(check: dict[str, Any], now: float) -> bool:
    """A check whose `ai` the NPPA no longer holds (result taken + 300 s, or 48 h pending)."""
    settled = check.get("settled_at")
    if settled is not None:
        return bool(now >= settled + RESULT_KEPT_SECONDS)
    return bool(now >= check["submitted_at"] + PENDING_SECONDS + RESULT_KEPT_SECONDS)


def _pending_check(doc: dict[str, Any]) -> dict[str, Any] | None:
    pending = [c for c in doc.get("checks", []) if c.get("status") == "pending"]
    return pending[-1] if pending else None


def _public(subject_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    latest = (doc.get("checks") or [{}])[-1]
    state = "verified" if doc.get("verified") else latest.get("status", "none")
    state = {"ok": "verified"}.get(state, state)
    zh, en = MESSAGES[state]
    return {
        "subject_id": subject_id,
        "status": state,
        "verified": bool(doc.get("verified")),
        "birthdate": doc.get("birthdate") if doc.get("verified") else None,
        "message": zh,
        "message_en": en,
    }
