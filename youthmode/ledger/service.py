"""The ledger service: usage, spending and guardian controls, and decisions that read them.

Works in-process (no Flask needed) on any `Store`. Every write is one atomic read-modify-write
of the subject's documents, so a retried batch never counts twice, concurrent reservations can
never together pass a cap, and a failed write leaves nothing half done.

`Ledger` = `LedgerCore` (usage, totals, decisions; `core.py`) + `PurchaseLedger` (purchases and
reservations; `purchases.py`) + the guardian controls below (rules in `guardian.py`).

Documents per subject (JSON):
  u:<day>     {"iv": [[s, e], ...] counted union of use}   e:<day> event ids seen that day
  a:<day>:<app>  {"iv": [[s, e], ...]} one app's counted union (at most 64 apps a day)
  spend       {kind: {"d:<day>": "12.00", "m:<month>": "30.00"}}
  purchases   {purchase id: {...}}          orders   {order id: {state, kind, amount, ...}}
  guardian    settings (app_consent, linked among them)    g:<day>  time grants for that day
  requests    ask-for-more-time requests    log:<n>  guardian change log, logseq: counter
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from youthmode.ledger import guardian as guardian_rules
from youthmode.ledger.checks import Idempotency
from youthmode.ledger.purchases import PurchaseLedger
from youthmode.ledger.settings import LedgerSettings as LedgerSettings
from youthmode.ledger.store import Transaction

__all__ = ["Ledger", "LedgerSettings"]


class Ledger(PurchaseLedger):
    """Usage, purchases, reservations and guardian controls over one store."""

    # -- guardian -------------------------------------------------------------------------------
    def guardian(self, subject_id: str, policy_id: str | None = None) -> dict[str, Any]:
        policy = self.engine.policy(policy_id)
        day = self._now().astimezone(policy.zone).date()
        return self._read(
            subject_id, lambda tx: guardian_rules.view(tx, subject_id, day, self._now())
        )

    def update_guardian(
        self,
        subject_id: str,
        changes: Mapping[str, Any],
        actor: str,
        policy_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        policy, now, day = self._today(policy_id)
        actor = guardian_rules.check_actor(actor)
        clean = guardian_rules.validate_settings(changes, policy)

        def apply(tx: Transaction) -> dict[str, Any]:
            guardian_rules.apply_settings(tx, clean, actor, now)
            return guardian_rules.view(tx, subject_id, day, now)

        asked = Idempotency.of(idempotency_key, "settings", clean, actor, policy.id)
        return self._write(subject_id, apply, asked)

    def grant_time(
        self,
        subject_id: str,
        amount: Any,
        actor: str,
        policy_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        policy, now, day = self._today(policy_id)
        actor = guardian_rules.check_actor(actor)
        seconds = guardian_rules.grant_seconds(amount, policy)

        def apply(tx: Transaction) -> dict[str, Any]:
            guardian_rules.add_grant(tx, day, seconds, actor, now, source="guardian")
            return guardian_rules.view(tx, subject_id, day, now)

        asked = Idempotency.of(idempotency_key, "grant", seconds, actor, policy.id)
        return self._write(subject_id, apply, asked)

    def ask_for_time(
        self,
        subject_id: str,
        minutes: Any,
        note: Any,
        policy_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        policy = self.engine.policy(policy_id)
        guardian_rules.grant_seconds("15m", policy)  # the policy must allow grants at all
        now = self._now()
        expires = min(
            now + timedelta(seconds=self.settings.request_ttl),
            guardian_rules.next_midnight(now, policy.zone),
        )
        request_id = "r-" + uuid.uuid4().hex[:12]

        def apply(tx: Transaction) -> dict[str, Any]:
            return guardian_rules.file_request(tx, request_id, minutes, note, now, expires)

        asked = Idempotency.of(idempotency_key, "ask", minutes, note, policy.id)
        return self._write(subject_id, apply, asked)

    def answer_request(
        self,
        subject_id: str,
        request_id: str,
        answer: Any,
        actor: str,
        policy_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        policy, now, day = self._today(policy_id)
        actor = guardian_rules.check_actor(actor)
        seconds = guardian_rules.answer_seconds(answer, policy)

        def apply(tx: Transaction) -> dict[str, Any]:
            return guardian_rules.answer(tx, request_id, answer, seconds, actor, now, day)

        asked = Idempotency.of(idempotency_key, "answer", request_id, answer, actor, policy.id)
        return self._write(subject_id, apply, asked)

    def guardian_log(self, subject_id: str) -> list[dict[str, Any]]:
        return self._read(subject_id, guardian_rules.read_log)
