"""Purchases and the two-phase reserve / commit / release flow.

A reservation decides the purchase against recorded spend plus every outstanding hold, inside
one atomic write of the subject's documents, so concurrent reservations can never together pass
a cap. Orders are idempotent by order id; an order-to-subject index lets commit and release
find the subject from the order id alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from youthmode.errors import RequestError, did_you_mean
from youthmode.ledger.checks import ledger_time, required_str
from youthmode.ledger.core import LedgerCore
from youthmode.ledger.documents import add_spend, iso_day, month_of, prune_records
from youthmode.ledger.settings import RECORD_DAYS
from youthmode.ledger.store import LedgerConflict, NotFound, Transaction
from youthmode.model import Decision, DecisionRequest
from youthmode.policies import CompiledPolicy
from youthmode.units import UnitError, parse_money


class PurchaseLedger(LedgerCore):
    # -- purchases --------------------------------------------------------------------------------
    def _spend_kind(self, policy: CompiledPolicy, action: Any) -> str:
        spec = policy.actions.get(action) if isinstance(action, str) else None
        if spec is None or spec.spend is None:
            spending = sorted(a for a, s in policy.actions.items() if s.spend)
            raise RequestError.single(
                ("action",),
                f"`{action}` is not a spending action",
                code="unknown_action",
                hint=did_you_mean(str(action), spending),
                known=spending,
            )
        return spec.spend

    def _amount(self, policy: CompiledPolicy, value: Any, currency: Any) -> Decimal:
        if currency is not None and currency != policy.currency:
            raise RequestError.single(
                ("currency",),
                f"policy `{policy.id}` counts money in {policy.currency}, not {currency}",
                code="unsupported_currency",
            )
        try:
            amount = parse_money(
                str(value) if isinstance(value, int | float) else value,
                places=policy.currency_places,
            )
        except UnitError as err:
            raise RequestError.single(("amount",), err.message, code="invalid_amount") from None
        if amount <= 0:
            raise RequestError.single(
                ("amount",), "amount must be more than zero", code="invalid_amount"
            )
        return amount

    def record_purchase(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A completed purchase, idempotent by `id`."""
        subject_id = required_str(body, "subject_id")
        purchase_id = required_str(body, "id")
        policy = self.engine.policy(body.get("policy"))
        kind = self._spend_kind(policy, body.get("action"))
        amount = self._amount(policy, body.get("amount"), body.get("currency"))
        now = self._now()
        at = ledger_time(body.get("at"), "at", now, self.settings)
        day = at.astimezone(policy.zone).date()
        today = now.astimezone(policy.zone).date()

        def apply(tx: Transaction) -> tuple[str, dict[str, Any]]:
            purchases = prune_records(tx.get("purchases") or {}, "day", today)
            if purchase_id in purchases:
                seen = purchases[purchase_id]
                if (seen["kind"], seen["amount"]) != (kind, str(amount)):
                    raise LedgerConflict.single(
                        ("id",),
                        f"purchase `{purchase_id}` was recorded with other content",
                        code="id_conflict",
                    )
                status = "duplicate"
            else:
                if len(purchases) >= MAX_PURCHASES:
                    raise LedgerConflict.single(
                        ("id",),
                        f"{len(purchases)} purchases recorded in {RECORD_DAYS} days for one "
                        f"subject; at most {MAX_PURCHASES} are kept",
                        code="too_many_purchases",
                    )
                purchases[purchase_id] = {
                    "kind": kind,
                    "amount": str(amount),
                    "day": iso_day(day),
                    "at": at.isoformat(),
                }
                add_spend(tx, kind, day, amount, today)
                tx.put("purchases", purchases)
                status = "recorded"
            return status, self._totals(tx, subject_id, policy, now)

        status, totals = self._write(subject_id, apply)
        return {"id": purchase_id, "status": status, "totals": totals}

    def reserve(
        self,
        body: Mapping[str, Any],
        on_decided: Callable[[DecisionRequest], None] | None = None,
    ) -> tuple[Decision, dict[str, Any] | None]:
        """Decide a purchase against spend plus every outstanding hold, and hold it on allow.

        ``on_decided`` gets the request as decided (usage and guardian settings filled from the
        ledger) once the write is done: the decision log's record of it. Not called when the
        order existed, whose decision was made (and logged) before."""
        subject_id = required_str(body, "subject_id")
        order_id = required_str(body, "order_id")
        engine = self.engine
        policy = engine.policy(body.get("policy"))
        kind = self._spend_kind(policy, body.get("action"))
        amount = self._amount(policy, body.get("amount"), body.get("currency"))
        now = self._now()
        self._check_reserve_at(body.get("at"), now)
        request = engine.parse(_reserve_request(body, subject_id, policy, amount, now))
        self._claim_order(order_id, subject_id)
        decided: list[DecisionRequest] = []  # the last attempt's: a transaction may be retried

        def apply(tx: Transaction) -> tuple[Decision, dict[str, Any] | None]:
            decided.clear()
            book = OrderBook(tx)
            existing = book.find(order_id)
            if existing is not None:
                return self._existing_order(existing, order_id, (kind, str(amount)), now)
            book.check_room(now)
            filled = self._fill(tx, request.model_copy(update={"usage": None}), engine)
            decided.append(filled)
            decision = engine.decide(filled)
            if not decision.allowed:
                return decision, None
            day = now.astimezone(policy.zone).date()
            book.open[order_id] = self._held_order(kind, amount, day, now, decision)
            book.save(now, day)
            return decision, _reservation(order_id, book.open[order_id], policy)

        answer = self._write(subject_id, apply)
        if on_decided is not None and decided:
            on_decided(decided[0])
        return answer

    def _check_reserve_at(self, value: Any, now: datetime) -> None:
        """Decided at the server's clock: a caller's `at` could move the purchase into a game
        window or onto a day whose figures are gone. One within the skew is tolerated."""
        if value is not None:
            at = ledger_time(value, "at", now, self.settings)
            if abs((at - now).total_seconds()) > self.settings.max_skew:
                raise RequestError.single(
                    ("at",),
                    "a reservation is decided at the server's clock; leave `at` out or send "
                    f"a time within {self.settings.max_skew} seconds of {now.isoformat()}",
                    code="out_of_window",
                )

    def _held_order(
        self, kind: str, amount: Decimal, day: date, now: datetime, decision: Decision
    ) -> dict[str, Any]:
        """A new hold: it counts against the caps until it expires or is committed or released."""
        expires = now + timedelta(seconds=self.settings.hold_seconds)
        return {
            "state": "held",
            "kind": kind,
            "amount": str(amount),
            "day": iso_day(day),
            "month": month_of(day),
            "expires_at": expires.timestamp(),
            "decision": decision.model_dump(mode="json"),
        }

    def _existing_order(
        self, order: dict[str, Any], order_id: str, content: tuple[str, str], now: datetime
    ) -> tuple[Decision, dict[str, Any] | None]:
        """A repeated reservation: the first answer again, if it asked the same ``content``
        (kind, amount) and the order is still held or committed."""
        if (order["kind"], order["amount"]) != content:
            raise LedgerConflict.single(
                ("order_id",),
                f"order `{order_id}` was reserved with other content",
                code="order_conflict",
            )
        state = order["state"]
        if state == "held" and order["expires_at"] <= now.timestamp():
            state = "expired"
        if state in ("held", "committed"):
            return Decision.model_validate(order["decision"]), _reservation(order_id, order, None)
        raise LedgerConflict.single(
            ("order_id",),
            f"order `{order_id}` was {state}; use a new order id",
            code="order_conflict",
        )

    def _claim_order(self, order_id: str, subject_id: str) -> None:
        def claim(tx: Transaction) -> str:
            owner = tx.get("subject")
            if owner is None:
                tx.put("subject", subject_id)
                return subject_id
            return str(owner)

        owner = self._write(f"order:{order_id}", claim)
        if owner != subject_id:
            raise LedgerConflict.single(
                ("order_id",),
                f"order `{order_id}` belongs to another subject",
                code="order_conflict",
            )

    def order_subject(self, order_id: str, subject_id: str | None = None) -> str:
        """The subject an order belongs to; a conflict if ``subject_id`` names another."""
        owner = self._read(f"order:{order_id}", lambda tx: tx.get("subject"))
        if owner is None:
            raise _no_order(order_id)
        if subject_id is not None and subject_id != owner:
            raise LedgerConflict.single(
                ("subject_id",),
                f"order `{order_id}` belongs to another subject",
                code="order_conflict",
            )
        return str(owner)

    def commit(self, order_id: str, subject_id: str | None = None) -> dict[str, Any]:
        """The payment went through: the held amount becomes recorded spending."""
        subject = self.order_subject(order_id, subject_id)
        now = self._now()

        def apply(tx: Transaction) -> dict[str, Any]:
            book, order = _order(tx, order_id)
            if order["state"] == "held" and order["expires_at"] <= now.timestamp():
                raise LedgerConflict.single(
                    ("order_id",),
                    f"reservation `{order_id}` expired; record the payment with POST /v1/purchases",
                    code="reservation_expired",
                )
            if order["state"] not in ("held", "committed"):
                raise LedgerConflict.single(
                    ("order_id",), f"order `{order_id}` was {order['state']}", code="order_conflict"
                )
            if order["state"] == "held":
                order["state"] = "committed"
                add_spend(
                    tx,
                    order["kind"],
                    date.fromisoformat(order["day"]),
                    Decimal(order["amount"]),
                    now.date(),
                )
                book.save(now, now.date())
            return {"order_id": order_id, "state": "committed", "amount": order["amount"]}

        return self._write(subject, apply)

    def release(self, order_id: str, subject_id: str | None = None) -> dict[str, Any]:
        """The payment failed (drop the hold) or was refunded (take the spend back)."""
        subject = self.order_subject(order_id, subject_id)

        now = self._now()

        def apply(tx: Transaction) -> dict[str, Any]:
            book, order = _order(tx, order_id)
            if order["state"] == "held":
                order["state"] = "released"
            elif order["state"] == "committed":
                order["state"] = "refunded"
                add_spend(
                    tx,
                    order["kind"],
                    date.fromisoformat(order["day"]),
                    -Decimal(order["amount"]),
                    now.date(),
                )
            book.save(now, now.date())
            return {"order_id": order_id, "state": order["state"], "amount": order["amount"]}

        return self._write(subject, apply)


def _reserve_request(
    body: Mapping[str, Any], subject_id: str, policy: CompiledPolicy, amount: Decimal, now: datetime
) -> dict[str, Any]:
    """The decision request a reservation is decided by: the body's subject, resource and
    guardian, at ``now``, with the amount as checked in the policy's currency."""
    return {
        "policy": policy.id,
        "subject": {**(body.get("subject") or {}), "id": subject_id},
        "action": body["action"],
        "at": now.isoformat(),
        "resource": {
            **(body.get("resource") or {}),
            "amount": str(amount),
            "currency": policy.currency,
        },
        **({"guardian": body["guardian"]} if body.get("guardian") else {}),
    }


def _reservation(
    order_id: str, order: dict[str, Any], policy: CompiledPolicy | None
) -> dict[str, Any]:
    expires = datetime.fromtimestamp(order["expires_at"], UTC)
    return {
        "order_id": order_id,
        "state": order["state"],
        "amount": order["amount"],
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }


def _no_order(order_id: str) -> NotFound:
    return NotFound.single(("order_id",), f"no reservation `{order_id}`", code="unknown_order")


def _order(tx: Transaction, order_id: str) -> tuple[OrderBook, dict[str, Any]]:
    """The subject's orders and the one named; NotFound when it is not there."""
    book = OrderBook(tx)
    order = book.find(order_id)
    if order is None:
        raise _no_order(order_id)
    return book, order


MAX_PURCHASES = 5_000  # purchases remembered for one subject (RECORD_DAYS)
MAX_OPEN_HOLDS = 100  # reservations held at once for one subject
MAX_ORDERS = 5_000  # orders remembered for one subject (RECORD_DAYS)


class OrderBook:
    """A subject's orders in two documents: `orders`, the open holds, which every decision
    reads to count them against the caps, kept small; and `closed` (committed, released,
    refunded, expired), which only writes read, to stay idempotent for RECORD_DAYS."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.open: dict[str, Any] = tx.get("orders") or {}
        self.closed: dict[str, Any] = tx.get("closed") or {}

    def find(self, order_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.open.get(order_id) or self.closed.get(order_id)
        return found

    def check_room(self, now: datetime) -> None:
        holding = sum(1 for o in self.open.values() if _is_held(o, now))
        if holding >= MAX_OPEN_HOLDS or len(self.open) + len(self.closed) >= MAX_ORDERS:
            raise LedgerConflict.single(
                ("order_id",),
                f"too many orders for one subject ({holding} held, at most {MAX_OPEN_HOLDS}; "
                f"{len(self.open) + len(self.closed)} in {RECORD_DAYS} days, at most "
                f"{MAX_ORDERS}); commit or release some first",
                code="too_many_orders",
            )

    def save(self, now: datetime, today: date) -> None:
        held = {k: o for k, o in self.open.items() if _is_held(o, now)}
        self.closed.update((k, o) for k, o in self.open.items() if k not in held)
        self.tx.put("orders", held)
        self.tx.put("closed", prune_records(self.closed, "day", today))


def _is_held(order: dict[str, Any], now: datetime) -> bool:
    return order["state"] == "held" and bool(order["expires_at"] > now.timestamp())
