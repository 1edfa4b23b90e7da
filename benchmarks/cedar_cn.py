"""(b) cn-baseline on Cedar (cedarpy): the integrator glue around cn-baseline.cedar.

Cedar decides from principal, action, resource, entities and a context record; it has no time
zones, calendar, birthdates or exact money. So, like any integrator, this glue computes from the
request dict: the age (birthdate with the `next_day` rollover), the band, the local minute of day
and day type in Asia/Shanghai, and integer fen for amounts. The policy set is parsed once; each
request is one `cedarpy.is_authorized` call with the principal entity built for it. The forbid
policies that matched (diagnostics, by @id) give the rule ids, and from them the reason codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import cedarpy
from cn_calendar import CST, WEEKDAY_NAMES, day_type
from floor import ACTIONS, SPENDING, age_on, band_of

POLICY_FILE = Path(__file__).with_name("cn-baseline.cedar")
# Rule id -> reason code, in the pack's rule order (the order reasons are reported in).
RULE_CODES = {
    "unverified": "unverified",
    "unknown-age": "unverified",
    "no-tipping": "feature_forbidden",
    "no-fan-inducement": "feature_forbidden",
    "no-spending-under-8": "feature_forbidden",
    "no-hosting-under-16": "feature_forbidden",
    "hosting-consent": "guardian_consent_required",
    "stranger-dm": "stranger_contact",
    "content-age": "age_restricted",
    "curfew": "curfew",
    "game-window": "outside_allowed_window",
    "daily-limit-under-16": "daily_limit",
    "daily-limit-16-18": "daily_limit",
    "game-topup-8-16-per-transaction": "per_transaction_cap",
    "game-topup-8-16-monthly": "monthly_cap",
    "game-topup-16-18-per-transaction": "per_transaction_cap",
    "game-topup-16-18-monthly": "monthly_cap",
    "purchase-8-16-per-transaction": "per_transaction_cap",
    "purchase-16-18-per-transaction": "per_transaction_cap",
}
RULE_ORDER = {rule: index for index, rule in enumerate(RULE_CODES)}
HUNDRED = Decimal(100)


class CedarError(RuntimeError):
    """Cedar reported evaluation errors: a forbid that errors is skipped, so this must not pass."""


def fen(value: Any) -> int:
    """A decimal amount in yuan as exact integer fen (1/100 yuan)."""
    scaled = Decimal(str(value)) * HUNDRED
    whole = int(scaled)
    if whole != scaled:
        raise ValueError(f"amount {value!r} is not a whole number of fen")
    return whole


def cedar_request(req: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Cedar request and entities for one decision request dict (the integrator glue)."""
    action = req["action"]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    subject = req.get("subject") or {}
    resource = req.get("resource") or {}
    usage = req.get("usage") or {}
    guardian = req.get("guardian") or {}
    local = datetime.fromisoformat(req["at"]).astimezone(CST)
    today = local.date()
    birth = subject.get("birthdate")
    age = age_on(date.fromisoformat(birth), today) if birth else subject.get("age")
    attrs: dict[str, Any] = {"band": band_of(age), "verified": bool(subject.get("verified"))}
    if age is not None:
        attrs["age"] = age
    context: dict[str, Any] = {
        "minute": local.hour * 60 + local.minute,
        "weekday": WEEKDAY_NAMES[today.weekday()],
        "day_type": day_type(today),
        "today_seconds": usage.get("today_seconds") or 0,
        "month_spent": fen(usage.get("month_spent") or 0),
        "amount": 0,
        "exemptions": list(guardian.get("exemptions") or ()),
        "consents": list(guardian.get("consents") or ()),
    }
    if action in SPENDING:
        if resource.get("amount") is None:
            raise ValueError("spending actions need resource.amount")
        context["amount"] = fen(resource["amount"])
    for key in ("category", "recipient", "min_age"):
        if resource.get(key) is not None:
            context[key] = resource[key]
    principal = {"type": "User", "id": subject.get("id") or "anonymous"}
    request = {
        "principal": principal,
        "action": {"type": "Action", "id": action},
        "resource": {"type": "App", "id": resource.get("app") or "unknown"},
        "context": context,
    }
    entities = [{"uid": principal, "attrs": attrs, "parents": []}]
    return request, entities


class CedarCN:
    """cn-baseline decisions through cedarpy, with the policy set parsed once."""

    def __init__(self, path: Path = POLICY_FILE) -> None:
        self.policies = cedarpy.PolicySet.from_str(path.read_text(encoding="utf-8"))

    def _answer(self, result: cedarpy.AuthzResult) -> tuple[str, list[str]]:
        diagnostics = result.diagnostics
        if diagnostics.errors:
            raise CedarError("; ".join(map(str, diagnostics.errors)))
        if result.allowed:
            return "allow", []
        names = diagnostics.id_annotations_by_reason
        rules = sorted((names[p] for p in diagnostics.reasons), key=RULE_ORDER.__getitem__)
        return "deny", rules

    def decide(self, req: dict[str, Any]) -> tuple[str, list[str]]:
        """(effect, ids of the rules that denied, in rule order) for one request dict."""
        request, entities = cedar_request(req)
        return self._answer(cedarpy.is_authorized(request, self.policies, entities))

    def decide_batch(self, reqs: Sequence[dict[str, Any]]) -> list[tuple[str, list[str]]]:
        """The same for many requests in one `is_authorized_batch` call (one entity per user)."""
        requests, entities = [], []
        for index, req in enumerate(reqs):
            request, found = cedar_request(req)
            uid = {"type": "User", "id": f"{request['principal']['id']}#{index}"}
            request["principal"] = uid
            found[0]["uid"] = uid
            requests.append(request)
            entities.extend(found)
        results = cedarpy.is_authorized_batch(requests, self.policies, entities)
        return [self._answer(r) for r in results]


def codes_of(rules: list[str]) -> list[str]:
    return [RULE_CODES[r] for r in rules]
