"""Running policy test cases, behind `youthmode test`: results, per-rule coverage, the report.

Coverage counts, for every rule of every policy tested, the cases in which the rule applied (it
denied, passed or was an obligation in force), like `opa test --coverage`, and lists the rules
no case reached.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from youthmode.authoring.testing import (
    NONE,
    TEST_SUFFIX,
    Case,
    CaseFile,
    Expect,
    case_request,
    find_test_files,
    jsonable,
    read_test_file,
)
from youthmode.engine import Engine
from youthmode.errors import PolicyError, Problem, RequestError
from youthmode.model import Explanation


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Mismatch:
    """One compared key whose value is not the expected one."""

    key: str
    expected: Any
    got: Any


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: passed when nothing mismatched."""

    file: str
    line: int | None
    name: str
    request: dict[str, Any]
    mismatches: tuple[Mismatch, ...]
    policy: str | None = None
    policies: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "name": self.name,
            "status": "pass" if self.passed else "fail",
            "policy": self.policy,
            "failures": [
                {"key": m.key, "expected": jsonable(m.expected), "got": jsonable(m.got)}
                for m in self.mismatches
            ],
            "request": self.request,
        }


@dataclass
class RuleCount:
    """How often one rule applied across the cases, and how."""

    rule: str
    kind: str
    applied: int = 0  # denied, passed, or an obligation in force
    denied: int = 0
    fired: int = 0  # an obligation the decision carried
    waived: int = 0
    exempt: int = 0

    @property
    def exercised(self) -> bool:
        return self.applied > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "exercised": self.exercised,
            "applied": self.applied,
            "denied": self.denied,
            "fired": self.fired,
            "waived": self.waived,
            "exempt": self.exempt,
        }


@dataclass
class PolicyCoverage:
    """Per-rule counts for one policy, in policy order."""

    policy: str
    rules: dict[str, RuleCount]
    cases: int = 0

    @property
    def exercised(self) -> int:
        return sum(1 for r in self.rules.values() if r.exercised)

    @property
    def percent(self) -> float:
        return 100.0 * self.exercised / len(self.rules) if self.rules else 100.0

    def missing(self) -> list[RuleCount]:
        return [r for r in self.rules.values() if not r.exercised]

    def add(self, explanation: Explanation) -> None:
        """Count the rules one decision's trace shows."""
        self.cases += 1
        decision = explanation.decision
        fired = {o.rule for o in decision.obligations}
        for step in explanation.trace:
            count = self.rules.get(step.rule)
            if count is None:  # a guardian setting, not a policy rule
                continue
            count.applied += step.outcome in ("deny", "pass", "obligation")
            count.denied += step.outcome == "deny"
            count.fired += step.outcome == "obligation" and step.rule in fired
            count.waived += step.outcome == "waived"
            count.exempt += step.outcome == "exempt"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "cases": self.cases,
            "rules_total": len(self.rules),
            "rules_exercised": self.exercised,
            "percent": round(self.percent, 1),
            "not_exercised": [r.rule for r in self.missing()],
            "rules": [r.to_dict() for r in self.rules.values()],
        }


@dataclass
class Report:
    """Everything one `youthmode test` run found."""

    files: list[str] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    coverage: dict[str, PolicyCoverage] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems and bool(self.results)

    def summary(self) -> str:
        """`N passed, N failed` (and `, N errors` when test files have problems)."""
        text = f"{self.passed} passed, {self.failed} failed"
        if self.problems:
            count = len(self.problems)
            text += f", {count} error{'s' if count != 1 else ''}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passed": self.passed,
            "failed": self.failed,
            "errors": len(self.problems),
            "files": self.files,
            "problems": [p.to_dict() for p in self.problems],
            "cases": [r.to_dict() for r in self.results],
            "coverage": [c.to_dict() for c in self.coverage.values()],
        }


# -- running cases ------------------------------------------------------------------------------
def run_case(
    engine: Engine, request: dict[str, Any], expect: Expect
) -> tuple[Explanation | None, list[Mismatch]]:
    """Decide ``request`` and compare the decision with ``expect``."""
    try:
        explanation = engine.explain(request)
    except RequestError as err:
        codes = [p.code for p in err.problems]
        if expect.error is not None and expect.error in codes:
            return None, []
        wanted = f"error {expect.error}" if expect.error else f"effect {expect.effect}"
        return None, [Mismatch("request", wanted, f"rejected: {err} [{', '.join(codes)}]")]
    if expect.error is not None:
        got = f"effect {explanation.decision.effect}"
        return explanation, [Mismatch("error", expect.error, got)]
    return explanation, compare(explanation, expect)


def compare(explanation: Explanation, expect: Expect) -> list[Mismatch]:
    """Every expected key whose value differs from the decision's."""
    decision = explanation.decision
    given = expect.model_fields_set
    got: dict[str, Any] = {
        "effect": decision.effect,
        "reasons": decision.reason_codes,
        "rules": [r.rule for r in decision.reasons],
        "remaining_seconds": decision.remaining_seconds,
        "next_allowed_at": decision.next_allowed_at,
        "band": decision.band,
        "obligations": [o.type for o in decision.obligations],
    }
    out = []
    for key, value in got.items():
        wanted = getattr(expect, key)
        if key in given and wanted != value:
            out.append(Mismatch(key, wanted, value))
    return out


def show(value: Any) -> str:
    """A value as a test file would write it."""
    if value is None:
        return NONE
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Runner:
    """Runs test files against the policies beside them (or one folder given)."""

    def __init__(
        self, policies: Sequence[str] | None = None, name_filter: str | None = None
    ) -> None:
        self.policies = policies
        self.name_filter = name_filter.lower() if name_filter else None
        self.report = Report()
        self._engines: dict[tuple[str, ...], Engine | PolicyError] = {}

    def engine_for(self, path: Path) -> Engine | PolicyError:
        """The engine of the policies next to ``path`` (loaded once per folder)."""
        key = tuple(self.policies) if self.policies else (str(path.parent),)
        if key not in self._engines:
            try:
                engine = Engine.from_path(*key)
            except PolicyError as err:
                self._engines[key] = err
                self.report.problems += err.problems  # once per folder, not per test file
            else:
                self._engines[key] = engine
                self._track(engine)
        return self._engines[key]

    def _track(self, engine: Engine) -> None:
        # A rule recorded but never enforced (enjoined, proposed, repealed: its status with its
        # pack's) can apply in no case: it is not counted, or no such pack could reach 100%.
        for policy in engine.policies.values():
            counted = {
                r.ref: RuleCount(r.ref, r.kind) for r in policy.rules if r.status == "in_force"
            }
            self.report.coverage.setdefault(policy.id, PolicyCoverage(policy.id, counted))

    def run_file(self, path: Path) -> None:
        """Run every case of one test file, recording results, problems and coverage."""
        name = str(path)
        self.report.files.append(name)
        tests, positions, problems = read_test_file(path)
        self.report.problems += problems
        if tests is None or positions is None or problems:
            return
        engine = self.engine_for(path)
        if isinstance(engine, PolicyError):
            return
        for index, case in enumerate(tests.case):
            if self.name_filter and self.name_filter not in case.name.lower():
                continue
            where = positions.find(("case", index))
            self._run_case(engine, tests, case, name, where[0] if where else None)

    def _run_case(
        self, engine: Engine, tests: CaseFile, case: Case, name: str, line: int | None
    ) -> None:
        request = case_request(tests, case)
        explanation, mismatches = run_case(engine, request, case.expect)
        policy = explanation.decision.policy.id if explanation else None
        if explanation is not None and policy in self.report.coverage:
            self.report.coverage[policy].add(explanation)
        folders = tuple(self.policies) if self.policies else (str(Path(name).parent),)
        self.report.results.append(
            CaseResult(name, line, case.name, request, tuple(mismatches), policy, folders)
        )


def run_tests(
    paths: Sequence[str | Path],
    policies: Sequence[str] | None = None,
    name_filter: str | None = None,
) -> Report:
    """Run every test file named, or under a folder named (against ``policies`` when given,
    else the policies beside each file); only cases whose name contains ``name_filter``."""
    runner = Runner(policies, name_filter)
    for path in find_test_files(paths):
        runner.run_file(path)
    return runner.report


# -- the report ---------------------------------------------------------------------------------
def below_threshold(report: Report, threshold: float) -> list[PolicyCoverage]:
    """Policies whose share of exercised rules is under ``threshold`` percent."""
    return [c for c in report.coverage.values() if c.percent < threshold]


def report_lines(
    report: Report,
    low: list[PolicyCoverage],
    *,
    paths: Sequence[str],
    verbose: bool = False,
    detailed: bool = False,
    threshold: float = 0.0,
) -> list[str]:
    """The text report: problems, failures, coverage, and the summary line last. ``paths``
    are the test paths named, ``verbose`` lists passing cases, ``detailed`` prints every
    coverage count, and ``low`` are the policies under the coverage ``threshold``."""
    lines = [f"{p}" for p in report.problems]
    if not report.files:
        lines.append(
            f"no test files (*{TEST_SUFFIX}) in {', '.join(paths)}: "
            f"write one next to the policies, e.g. configs/my-policy{TEST_SUFFIX}"
        )
    for result in report.results:
        if verbose and result.passed:
            lines.append(f"PASS {_where(result)}: {result.name}")
        if not result.passed:
            lines += failure_lines(result)
    if report.results:
        lines += coverage_lines(report, detailed=detailed)
    for item in low:
        lines.append(
            f"coverage of {item.policy} is {item.percent:.0f}%, under --threshold "
            f"{threshold:g}%: add cases for the rules not exercised"
        )
    lines.append(report.summary())
    return lines


def _where(result: CaseResult) -> str:
    return f"{result.file}:{result.line}" if result.line else result.file


def failure_lines(result: CaseResult) -> list[str]:
    """`FAIL file:line: name`, each mismatch, and the request to explain it with."""
    lines = [f"FAIL {_where(result)}: {result.name}"]
    width = max(len(m.key) for m in result.mismatches)
    for m in result.mismatches:
        lines.append(f"  {m.key.ljust(width)}  expected {show(m.expected)}, got {show(m.got)}")
    request = json.dumps(result.request, ensure_ascii=False).replace("'", "'\\''")
    folders = " ".join(f"--policies {p}" for p in result.policies)
    lines.append(f"  explain it: youthmode explain {folders} - <<< '{request}'")
    return lines


COVERAGE_HEADER = ("rule", "kind", "applied", "denied", "fired", "waived", "exempt")


def coverage_lines(report: Report, *, detailed: bool) -> list[str]:
    """One line per policy, its rules no case exercised, and with ``detailed`` every count."""
    lines = ["", "coverage (rules that applied in at least one case):"]
    for item in report.coverage.values():
        if not item.cases:
            lines.append(f"  {item.policy}: no cases ({len(item.rules)} rules not exercised)")
            continue
        lines.append(
            f"  {item.policy}: {item.exercised} of {len(item.rules)} rules exercised "
            f"({item.percent:.0f}%) by {item.cases} case{'s' if item.cases != 1 else ''}"
        )
        if detailed:
            lines += ["    " + line for line in _table(item)]
        missing = item.missing()
        if missing:
            lines.append("    not exercised by any case:")
            lines += [f"      {r.rule} ({r.kind})" for r in missing]
    lines.append("")
    return lines


def _table(item: PolicyCoverage) -> list[str]:
    rows = [COVERAGE_HEADER] + [
        (r.rule, r.kind, *(str(n) for n in (r.applied, r.denied, r.fired, r.waived, r.exempt)))
        for r in item.rules.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COVERAGE_HEADER))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        out.append("  ".join(cells).rstrip())
    return out
