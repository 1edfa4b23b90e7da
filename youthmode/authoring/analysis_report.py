"""The text and JSON forms of `diff` and `floor` results: the rules responsible in one line, a
summary per kind of change, then the regions grouped by the rule responsible
(`responsible.py`), each with its times, conditions, outcomes on both sides and a request that
shows it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from youthmode.authoring.analysis import Comparison, DiffResult, FloorResult
from youthmode.authoring.domain import Signature, format_span
from youthmode.authoring.regions import Region, When
from youthmode.authoring.responsible import RuleGroup, by_rule, responsible, rules_line
from youthmode.policies import CompiledPolicy

PER_RULE = 3  # regions printed in full per rule responsible (`--max-per-rule`)
FLOOR_VERBS = ("loosens the floor", "loosen the floor")
DIFF_VERBS = ("changes decisions", "change decisions")

DIMENSION_NAMES = {
    "verified": "verified",
    "waivers": "guardian waivers",
    "consents": "consents",
    "category": "category",
    "app": "app",
    "min_age": "min_age",
    "amount": "amount",
    "month_spent": "month_spent",
    "day_spent": "day_spent",
    "today_seconds": "today_seconds",
    "session_seconds": "session_seconds",
}


def outcome(sig: Signature) -> dict[str, Any]:
    """An answer: effect, reasons; obligations of an allow, remedies compared of a deny."""
    out: dict[str, Any] = {"effect": "allow" if sig[0] else "deny", "reasons": list(sig[1])}
    if sig[2]:
        out["obligations" if sig[0] else "remedies"] = list(sig[2])
    return out


def outcome_text(sig: Signature) -> str:
    if sig[0]:
        return "allow" + (f" (obligations: {', '.join(sig[2])})" if sig[2] else "")
    return "deny: " + ", ".join(sig[1]) + (f" (remedies: {', '.join(sig[2])})" if sig[2] else "")


def band_names(region: Region, side: int) -> list[str]:
    return list(dict.fromkeys(b[side] or "-" for b in region.bands))


def _when_json(when: When) -> list[dict[str, Any]]:
    return [
        {
            "days": days,
            "dates": [d.isoformat() for d in dates],
            "spans": [format_span(s).split("–") for s in spans],
        }
        for days, dates, spans in when
    ]


def region_json(region: Region, zone: Any, names: Sequence[str], policy_id: str) -> dict[str, Any]:
    return {
        "actions": region.actions,
        "bands": {name: band_names(region, i) for i, name in enumerate(names)},
        "ages": region.ages,
        "when": _when_json(region.when),
        "conditions": region.conditions,
        "cases": [
            {"when": _when_json(c.when), "conditions": c.conditions, "points": c.points}
            for c in region.cases
        ],
        **{name: outcome(sig) for name, sig in zip(names, region.signatures, strict=True)},
        "points": region.points,
        "counterexample": region.example.request(zone, policy_id),
        "confirmed": region.confirmed,
        "rules": list(responsible(region)),
    }


def region_text(
    n: int, region: Region, zone: Any, names: Sequence[str], policy_id: str
) -> list[str]:
    bands = band_names(region, len(names) - 1)
    old_bands = band_names(region, 0)
    band_text = ", ".join(bands)
    if old_bands != bands:
        band_text = f"{', '.join(old_bands)} → {band_text}"
    ages = ", ".join("unknown" if a is None else str(a) for a in region.ages)
    plural = "s" if len(bands) > 1 else ""
    lines = [
        f"{n}. {', '.join(region.actions)} · band{plural} {band_text} (age {ages}) · "
        f"{region.points:,} points"
    ]
    width = max(5, *(len(name) for name in names))

    def row(label: str, text: str) -> None:
        lines.append(f"   {label:<{width}}  {text}")

    for i, (days, _, spans) in enumerate(region.when):
        row("when" if i == 0 else "", f"{', '.join(days)}: {', '.join(map(format_span, spans))}")
    conditions = region.conditions
    if conditions:
        text = "; ".join(
            f"{DIMENSION_NAMES.get(k, k)} {' or '.join(v)}" for k, v in conditions.items()
        )
        row("where", text)
    if len(region.cases) > 1:
        row(
            "",
            f"({len(region.cases)} exact cases in --format json; elsewhere in this box "
            "both decide alike)",
        )
    for name, sig in zip(names, region.signatures, strict=True):
        row(name, outcome_text(sig))
    row("e.g.", json.dumps(region.example.request(zone, policy_id), ensure_ascii=False))
    if region.confirmed is False:
        row("", "warning: the engines decide this example differently than predicted")
    return lines


def summary(regions: Sequence[Region]) -> list[str]:
    """One line per kind of change: effects, points, and the reasons on the denying side."""
    tally: dict[tuple[str, str], dict[str, int]] = {}
    for region in regions:
        a, b = region.signatures
        key = (outcome(a)["effect"], outcome(b)["effect"])
        codes = a[1] if not a[0] else b[1]
        per = tally.setdefault(key, {})
        per[""] = per.get("", 0) + region.points
        for code in codes:
            per[code] = per.get(code, 0) + region.points
    lines = []
    for (x, y), per in tally.items():
        total = per.pop("")
        reasons = ", ".join(
            f"{code} {n:,}" for code, n in sorted(per.items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"{x} → {y}: {total:,} points" + (f" (denied for {reasons})" if reasons else "")
        )
    return lines


def policy_ref(policy: CompiledPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "version": policy.version,
        "digest": policy.digest,
        "file": policy.files[-1],
    }


def policy_label(policy: CompiledPolicy) -> str:
    return f"{policy.id} {policy.version} ({policy.files[-1]})"


def regions_lines(
    r: Comparison, most: int, per_rule: int, labels: tuple[str, str], policy_id: str
) -> list[str]:
    """The regions of ``r`` by the rule responsible (largest first): per rule a heading, then
    its first ``per_rule`` regions in full, at most ``most`` in all, then how many more."""
    lines: list[str] = []
    shown = 0
    for group in by_rule(r.regions):
        lines += ["", _group_heading(group)]
        room = max(0, min(per_rule, most - shown))
        for region in group.regions[:room]:
            shown += 1
            lines.append("")
            lines += region_text(shown, region, r.domain.zone, labels, policy_id)
        hidden = len(group.regions) - len(group.regions[:room])
        if hidden:
            lines.append(f"   ... and {hidden} more of {group.name} (--format json lists all)")
    return lines


def _group_heading(group: RuleGroup) -> str:
    count = len(group.regions)
    size = f"{count} region{'s' if count != 1 else ''}, {group.points:,} points"
    return f"{group.name}: {size}"


def rules_json(r: Comparison) -> list[dict[str, Any]]:
    """The rules responsible, largest first: each with its regions' indices and points."""
    index = {id(x): n for n, x in enumerate(r.regions)}
    return [
        {
            "rules": list(g.refs),
            "regions": [index[id(x)] for x in g.regions],
            "points": g.points,
        }
        for g in by_rule(r.regions)
    ]


# -- diff ------------------------------------------------------------------------------------
def diff_json(result: DiffResult) -> dict[str, Any]:
    """The JSON form of a diff: each comparison with all its regions."""
    comparisons = []
    for r in result.comparisons:
        a, b = r.policies
        comparisons.append(
            {
                "old": policy_ref(a),
                "new": policy_ref(b),
                "actions_removed": sorted(set(a.actions) - set(b.actions)),
                "actions_added": sorted(set(b.actions) - set(a.actions)),
                "points": r.points,
                "seconds": round(r.seconds, 3),
                **floors_json(r),
                **notes_json(r),
                "regions": [region_json(x, r.domain.zone, ("old", "new"), b.id) for x in r.regions],
                "rules": rules_json(r),
                "other_changes": {
                    "regions": len(r.others),
                    "points": sum(x.points for x in r.others),
                },
            }
        )
    changed = bool(result.removed or result.added) or any(
        c["regions"] or c["actions_added"] or c["actions_removed"] for c in comparisons
    )
    return {
        "changed": changed,
        "compare": "reasons" if result.reasons else "effect",
        "years": result.years,
        "seconds": round(result.seconds, 3),
        "policies_removed": result.removed,
        "policies_added": result.added,
        "comparisons": comparisons,
    }


def diff_lines(result: DiffResult, max_regions: int, per_rule: int = PER_RULE) -> list[str]:
    """The text form of a diff: policies only one side has, then each comparison: the rules
    that change decisions in one line, then the regions by rule."""
    lines = [f"policy {pid} is only in OLD" for pid in result.removed]
    lines += [f"policy {pid} is only in NEW" for pid in result.added]
    for r in result.comparisons:
        lines += _comparison_lines(r, result, max_regions, per_rule)
    if len(result.comparisons) > 1:
        lines.append(f"total {result.seconds:.2f}s")
    return lines


def _comparison_lines(
    r: Comparison, result: DiffResult, max_regions: int, per_rule: int
) -> list[str]:
    a, b = r.policies
    what = "decision (effect, reasons or obligations)" if result.reasons else "effect"
    lines = [
        f"diff {policy_label(a)} → {policy_label(b)}",
        f"checked {r.points:,} points ({len(r.domain.actions)} actions, "
        f"{len(r.domain.ages)} ages, {len(r.domain.days)} kinds of day in "
        f"{', '.join(map(str, result.years))}) in {r.seconds:.2f}s",
    ]
    if a.timezone != b.timezone:
        zones = f"({a.timezone}, {b.timezone}); times are {a.timezone}"
        lines.append(f"note: time zones differ {zones}")
    lines += floors_lines(r)
    lines += [f"note: {note}" for note in r.domain.notes]
    for action in sorted(set(a.actions) - set(b.actions)):
        lines.append(f"action {action} is removed: NEW rejects requests for it (unknown_action)")
    for action in sorted(set(b.actions) - set(a.actions)):
        lines.append(f"action {action} is new: OLD rejects requests for it (unknown_action)")
    if not r.regions:
        lines.append(f"no change in the {what} anywhere in the domain")
    else:
        count = sum(x.points for x in r.regions)
        plural = "region" if len(r.regions) == 1 else "regions"
        lines.append(f"{len(r.regions)} {plural} where the {what} changes ({count:,} points):")
        lines.append("  " + rules_line(by_rule(r.regions), DIFF_VERBS, r.policies))
        lines += [f"  {line}" for line in summary(r.regions)]
    lines += regions_lines(r, max_regions, per_rule, ("old", "new"), b.id)
    if r.others:
        points = sum(x.points for x in r.others)
        lines.append(
            f"\nalso {points:,} points in {len(r.others)} regions where only the reasons "
            "change (--compare reasons lists them)"
        )
    lines.append("")
    return lines


def floors_json(r: Comparison) -> dict[str, Any]:
    """The jurisdictions compared and the floor packs decided with the policies (none: {})."""
    floors = r.domain.floors
    if not floors.packs:
        return {}
    return {
        "jurisdictions": floors.jurisdictions,
        "floor_packs": [policy_ref(p) for p in floors.packs],
    }


def notes_json(r: Comparison) -> dict[str, Any]:
    """What the comparison covers only in part (a clock it cannot vary), when anything."""
    return {"notes": list(r.domain.notes)} if r.domain.notes else {}


def floors_lines(r: Comparison) -> list[str]:
    floors = r.domain.floors
    if not floors.packs:
        return []
    where = ", ".join(j or "none" for j in floors.jurisdictions)
    packs = ", ".join(policy_label(p) for p in floors.packs)
    return [f"floors: subject.jurisdiction {where}; decided with {packs}"]


# -- floor -----------------------------------------------------------------------------------
def floor_json(result: FloorResult) -> dict[str, Any]:
    """The JSON form of a floor check: per pack, ok or its counterexamples."""
    out = []
    for r in result.comparisons:
        base, pack = r.policies
        out.append(
            {
                "pack": policy_ref(pack),
                "baseline": policy_ref(base),
                "ok": not r.regions,
                "points": r.points,
                **floors_json(r),
                **notes_json(r),
                "seconds": round(r.seconds, 3),
                "actions_not_in_pack": sorted(set(base.actions) - set(pack.actions)),
                "actions_not_in_baseline": sorted(set(pack.actions) - set(base.actions)),
                "counterexamples": [
                    region_json(x, r.domain.zone, ("baseline", "pack"), pack.id) for x in r.regions
                ],
                "rules": rules_json(r),
            }
        )
    return {"ok": all(x["ok"] for x in out), "years": result.years, "packs": out}


def floor_lines(result: FloorResult, max_regions: int, per_rule: int = PER_RULE) -> list[str]:
    """The text form of a floor check: per pack, ok, or the baseline rules it lets through in
    one line and its counterexamples by rule; and notes."""
    lines: list[str] = []
    for r in result.comparisons:
        base, pack = r.policies
        extra = sorted(set(pack.actions) - set(base.actions))
        if not r.regions:
            lines.append(
                f"pack {pack.id} never allows what {base.id} denies "
                f"({r.points:,} points checked in {r.seconds:.2f}s)"
            )
        else:
            count = sum(x.points for x in r.regions)
            lines.append(
                f"pack {pack.id} allows what {base.id} denies: {len(r.regions)} "
                f"region{'s' if len(r.regions) != 1 else ''} ({count:,} of {r.points:,} points, "
                f"{r.seconds:.2f}s)"
            )
            lines.append("  " + rules_line(by_rule(r.regions), FLOOR_VERBS, r.policies))
            lines += [f"  {line}" for line in summary(r.regions)]
            lines += floors_lines(r)
            lines += regions_lines(r, max_regions, per_rule, ("baseline", "pack"), pack.id)
        lines += [f"note: {note}" for note in r.domain.notes]
        missing = sorted(set(base.actions) - set(pack.actions))
        if missing:
            lines.append(f"note: {pack.id} rejects {', '.join(missing)} (not in its catalog)")
        if extra:
            lines.append(f"note: {base.id} has no say on {', '.join(extra)} (only in {pack.id})")
        if len(result.comparisons) > 1:
            lines.append("")
    return lines
