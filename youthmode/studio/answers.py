"""What the studio shows, computed by the authoring library on an edited set of policies:
check problems, the week's schedule picture, explain's rule table, the pack's policy tests,
and `diff` / `floor` regions, each region with the rules that decide it.

Every function takes plain values (already checked by `fields.py`) and returns JSON-ready data;
none reads or writes a file but the served policies and their test files, read only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from youthmode.authoring.analysis import (
    AnalysisError,
    default_baseline,
    diff,
    engine_of,
    floor,
)
from youthmode.authoring.analysis_report import diff_json, floor_json
from youthmode.authoring.checking import check_report
from youthmode.authoring.dimensions import UnvariedFact
from youthmode.authoring.loading import LoadedSet
from youthmode.authoring.schedule import (
    Subject,
    compute,
    parse_week,
    render_json,
    schedule_request,
)
from youthmode.authoring.schedule_svg import render_svg
from youthmode.authoring.testrun import Runner
from youthmode.engine import Engine
from youthmode.errors import PolicyError, RequestError
from youthmode.studio.workspace import Edited, StudioError


def check_answer(edited: Edited) -> dict[str, Any]:
    """`youthmode check`'s JSON report of the edited set, and which file was edited."""
    report = check_report(list(edited.policies.values()), edited.problems)
    return {"file": edited.name, "defines": list(edited.primary), **report}


# -- schedule ------------------------------------------------------------------------------------
def schedule_answer(
    edited: Edited,
    policy_id: str,
    action: str,
    who: Mapping[str, Any],
    week: str | None,
    today: date,
) -> dict[str, Any]:
    """The week's picture (SVG) and its intervals for one subject and action; ``week``
    (`2026-W48`) defaults to the week of ``today``."""
    engine = edited.engine()
    policy = edited.policies.get(policy_id)
    if policy is None:
        raise StudioError("policy", f"policy `{policy_id}` is not loaded")
    if action not in policy.actions:
        known = ", ".join(sorted(policy.actions))
        raise StudioError("action", f"`{policy_id}` has no action `{action}`; known: {known}")
    try:
        days = parse_week(week, today)
    except ValueError as err:
        raise StudioError("week", str(err)) from None
    subject = Subject(age=who.get("age"), verified=bool(who.get("verified")))
    request = schedule_request(policy, action, subject)
    request["subject"].update(_signals(who))
    try:
        schedule = compute(engine, policy, request, days)
    except RequestError as err:
        raise StudioError("request", str(err)) from None
    return {"svg": render_svg(schedule), **render_json(schedule)}


def _signals(who: Mapping[str, Any]) -> dict[str, Any]:
    """An age range as an operator's age signal, and the jurisdiction, when given."""
    out: dict[str, Any] = {}
    if who.get("age") is None and who.get("age_lower") is not None:
        signal = {"source": "studio", "method": "operator", "lower": who["age_lower"]}
        out["age_signals"] = [{**signal, "upper": who.get("age_upper")}]
    if who.get("jurisdiction"):
        out["jurisdiction"] = who["jurisdiction"]
    return out


# -- explain -------------------------------------------------------------------------------------
def explain_answer(edited: Edited, request: dict[str, Any]) -> dict[str, Any]:
    """The decision and the trace of every rule considered (raises RequestError)."""
    explanation = edited.engine().explain(request)
    return explanation.model_dump(mode="json")


# -- policy tests --------------------------------------------------------------------------------
class _EditedRunner(Runner):
    """`youthmode test`'s runner, deciding with the edited set instead of the files on disk."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._track(engine)

    def engine_for(self, path: Path) -> Engine | PolicyError:
        return self._engine


def tests_answer(edited: Edited, test_file: Path | None) -> dict[str, Any]:
    """The pack's policy tests (its `*_test.toml`, read only) run against the edited set."""
    if test_file is None:
        raise StudioError("file", f"`{Path(edited.name).name}` has no policy test file beside it")
    runner = _EditedRunner(edited.engine())
    runner.run_file(test_file)
    report = runner.report
    report.coverage = {k: v for k, v in report.coverage.items() if k in edited.primary}
    return {"summary": report.summary(), **report.to_dict()}


# -- diff and floor ------------------------------------------------------------------------------
def diff_answer(
    served: LoadedSet, edited: Edited, year: int, compare: str = "effect"
) -> dict[str, Any]:
    """Every region where the edited file decides differently from the served set."""
    ids = tuple(p for p in edited.primary if p in served.policies)
    if not ids:
        raise StudioError("text", "the edited file defines no policy the served set has")
    old = LoadedSet(served.policies, ids)
    new = LoadedSet(edited.policies, ids)
    try:
        result = diff(old, new, years=[year], reasons=compare == "reasons")
    except (AnalysisError, UnvariedFact) as err:
        raise StudioError("text", str(err), 422) from None
    out = diff_json(result)
    engines = {"old": engine_of(old), "new": engine_of(new)}
    for comparison in out["comparisons"]:
        ids_of = {"old": comparison["old"]["id"], "new": comparison["new"]["id"]}
        for region in comparison["regions"]:
            region["because"] = responsible(region, engines, ids_of)
    return out


def floor_answer(edited: Edited, baseline_id: str | None, year: int) -> dict[str, Any]:
    """Every region where the edited pack allows what the baseline denies."""
    loaded = edited.loaded_set()
    engine = edited.engine()
    baseline_id = baseline_id or default_baseline(loaded)
    if baseline_id is None or baseline_id not in loaded.policies:
        known = ", ".join(sorted(loaded.policies))
        raise StudioError("baseline", f"choose a baseline among the loaded policies: {known}")
    packs = [loaded.policies[p] for p in loaded.primary if p != baseline_id]
    if not packs:
        raise StudioError("baseline", f"the edited file defines only the baseline `{baseline_id}`")
    try:
        result = floor(loaded.policies[baseline_id], packs, engine, [year])
    except (AnalysisError, UnvariedFact) as err:
        raise StudioError("text", str(err), 422) from None
    out = floor_json(result)
    engines = {"baseline": engine, "pack": engine}
    for pack in out["packs"]:
        ids_of = {"baseline": pack["baseline"]["id"], "pack": pack["pack"]["id"]}
        for region in pack["counterexamples"]:
            region["because"] = responsible(region, engines, ids_of)
    return out


def responsible(
    region: Mapping[str, Any], engines: Mapping[str, Engine], ids: Mapping[str, str]
) -> dict[str, list[str]]:
    """The rules that deny the region's counterexample, per side (`policy/rule`): what makes
    the two sides differ there. The region's own `rules`, when the library gives them, win."""
    if isinstance(region.get("rules"), dict):
        return {k: list(v) for k, v in region["rules"].items()}
    out: dict[str, list[str]] = {}
    for side, engine in engines.items():
        request = {**region["counterexample"], "policy": ids[side]}
        try:
            decision = engine.decide(request)
        except RequestError:
            out[side] = []
            continue
        out[side] = [r.rule for r in decision.reasons]
    return out
