"""A guardian's stored settings merged into a decision request's guardian facts.

The caller's facts plus the stored settings, the stricter limit winning (`merge`). Built
without validating again when every value is plainly valid; the rare rest (a value out of
range, a malformed stored curfew) goes through `Guardian(...)`, which words the error.
`merged_facts` gives a decision's facts of the same merge straight from the values
(ledger/plain.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from youthmode.facts import GuardianFacts, plain_curfew_windows
from youthmode.model import DAY_SECONDS, MIN_DAILY_LIMIT_SECONDS, Guardian
from youthmode.trusted import trusted_complete

# `guardian.app_consent` as platforms report it (Apple's consent revocations, Google Play's
# approval states); like `linked`, a fact about the account, kept under every policy.
APP_CONSENT = ("approved", "pending", "denied", "revoked")


def merge(given: Guardian, stored: dict[str, Any]) -> Guardian:
    """The caller's guardian facts plus the stored settings (the stricter limit wins)."""
    merged = merged_settings(
        given.consents,
        given.exemptions,
        given.exempt_apps,
        given.daily_limit_seconds,
        given.curfew,
        given.more_curfews,
        given.extra_seconds,
        given.app_consent,
        given.linked,
        stored,
    )
    if _valid_as_is(merged):  # every decision with stored settings: skip validating again
        return trusted_complete(Guardian, merged)
    return Guardian(**merged)


def merged_settings(
    consents: Collection[str],
    exemptions: Collection[str],
    exempt_apps: Collection[str],
    daily_limit: int | None,
    curfew: list[str] | None,
    more_curfews: list[list[str]] | None,
    extra_seconds: int | None,
    app_consent: str | None,
    linked: bool | None,
    stored: dict[str, Any],
) -> dict[str, Any]:
    """The fields of the merged `Guardian`, from the caller's (``consents`` to ``linked``) and
    the ``stored`` settings. Every curfew of either is kept: the caller's `curfew` (else the
    stored one) first, then the stored one, then the caller's `more_curfews`."""
    more = ([stored["curfew"]] if curfew and stored.get("curfew") else []) + [*(more_curfews or ())]
    limits = [v for v in (daily_limit, stored.get("daily_limit")) if v]
    return {
        "consents": sorted(set(consents) | set(stored.get("consents", []))),
        "exemptions": sorted(set(exemptions) | set(stored.get("waivers", []))),
        "exempt_apps": sorted(set(exempt_apps) | set(stored.get("exempt_apps", []))),
        "daily_limit_seconds": min(limits) if limits else None,
        "curfew": curfew or stored.get("curfew"),
        "more_curfews": more or None,
        "extra_seconds": (extra_seconds or 0) + stored.get("extra_seconds", 0) or None,
        # The caller's own word on consent and link wins; else the stored (latest) one.
        "app_consent": app_consent or stored.get("app_consent"),
        "linked": linked if linked is not None else stored.get("linked"),
    }


def merged_facts(
    given: GuardianFacts, curfew: list[str] | None, stored: dict[str, Any]
) -> tuple[GuardianFacts, str | None, bool] | None:
    """What the typed route reads from `merge(Guardian(...), stored)` (request_typed.py) for a
    caller's guardian of the plain route: its facts (``given``, its curfews among them;
    ``curfew``: its `curfew` as sent), with no `app_consent` or `linked` of its own.
    Gives the merged facts, app consent and link straight from the values, without the
    merged lists; None when the merge needs validating (`merge` then validates, and words or
    refuses what is wrong). Curfews are read here, not refused: validating a curfew only
    checks that its two times parse, which `curfew_windows` does. The same values as
    `merged_settings` then `Guardian`: tests/test_ledger_plain.py."""
    consents, exemptions, exempt_apps, daily_limit, extra_seconds, given_curfews = given
    limits = [v for v in (daily_limit, stored.get("daily_limit")) if v]
    limit = min(limits) if limits else None
    extra = (extra_seconds or 0) + stored.get("extra_seconds", 0) or None
    app_consent, linked = stored.get("app_consent"), stored.get("linked")
    if not (
        _seconds_or_none(limit, MIN_DAILY_LIMIT_SECONDS)
        and _seconds_or_none(extra, 0)
        and (app_consent is None or app_consent in APP_CONSENT)
        and (linked is None or type(linked) is bool)
    ):
        return None
    names = (
        consents.union(stored.get("consents", ())),
        exemptions.union(stored.get("waivers", ())),
        exempt_apps.union(stored.get("exempt_apps", ())),
    )
    for merged in names:
        for name in merged:
            if type(name) is not str:
                return None
    kept = stored.get("curfew")
    first = curfew or kept
    windows = ([first] if first is not None else []) + ([kept] if curfew and kept else [])
    read = plain_curfew_windows(windows)
    if read is None:
        return None
    # the caller's `more_curfews` too (its facts hold all its curfews, already read)
    curfews = tuple(sorted(set(read) | set(given_curfews)))
    return (*names, limit, extra or 0, curfews), app_consent, bool(linked)


def _valid_as_is(merged: dict[str, Any]) -> bool:
    """``merged`` holds values `Guardian` would accept and keep unchanged; False sends the
    rare rest (curfews, a value out of range) through validation, which words the error."""
    return (
        merged["curfew"] is None
        and merged["more_curfews"] is None
        and _seconds_or_none(merged["daily_limit_seconds"], MIN_DAILY_LIMIT_SECONDS)
        and _seconds_or_none(merged["extra_seconds"], 0)
        and all(
            type(name) is str
            for key in ("consents", "exemptions", "exempt_apps")
            for name in merged[key]
        )
        and (merged["app_consent"] is None or merged["app_consent"] in APP_CONSENT)
        and (merged["linked"] is None or type(merged["linked"]) is bool)
    )


def _seconds_or_none(value: Any, least: int) -> bool:
    return value is None or (type(value) is int and least <= value <= DAY_SECONDS)
