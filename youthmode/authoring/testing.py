"""`youthmode test`: policy test files, a pass/fail summary and per-rule coverage.

A policy test file sits next to the policies it tests and is named `*_test.toml` (the policy
loader skips those names). Each `[[case]]` is a decision request and what the decision must be:

    policy = "cn-baseline"                 # default `policy` of every request (optional)

    [[case]]
    name = "curfew: 12-year-old at 22:00"
    request.action = "app.use"
    request.at = 2026-11-25T22:00:00+08:00
    request.subject = { age = 12, verified = true }
    expect.effect = "deny"
    expect.reasons = ["curfew"]
    expect.next_allowed_at = 2026-11-26T06:00:00+08:00

Every case needs `request.at`, so a test never depends on the day it runs. Coverage counts,
for every rule of every policy tested, the cases in which the rule applied (it denied, passed
or was an obligation in force), like `opa test --coverage`, and lists the rules no case reached.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from youthmode.engine import Engine
from youthmode.errors import PolicyError, Problem, RequestError, did_you_mean
from youthmode.model import Explanation
from youthmode.policies.loader import format_key
from youthmode.policies.positions import PositionIndex, index_positions
from youthmode.units import UnitError, parse_duration

TEST_SUFFIX = "_test.toml"
NONE = "none"  # TOML has no null: `"none"` expects a null `remaining_seconds` / `next_allowed_at`
DURATION_PATTERN = r"^\s*(?:\d+\s*[hms]\s*)+$"


# -- the test file format -------------------------------------------------------------------
def _remaining(value: object) -> object:
    """Seconds, a duration such as `"30m"`, or `"none"` for null."""
    if value == NONE:
        return None
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except UnitError as err:
            raise ValueError(f'{err.message}; write seconds, a duration or "none"') from None
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise ValueError(f'`{value}` is negative; write seconds, a duration or "none"')
    return value


def _instant(value: object) -> object:
    """A TOML offset date-time, the same as a string, or `"none"` for null."""
    if value == NONE:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f'`{value}` is not a date-time or "none"') from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"`{value.isoformat()}` needs an offset, e.g. +08:00")
    return value


Remaining = Annotated[
    int | None,
    BeforeValidator(
        _remaining,
        json_schema_input_type=Annotated[int, Field(ge=0)]
        | Literal["none"]
        | Annotated[str, StringConstraints(pattern=DURATION_PATTERN)],
    ),
]
Instant = Annotated[
    datetime | None,
    BeforeValidator(_instant, json_schema_input_type=datetime | Literal["none"]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(Strict):
    """What the decision must be. Only the keys given are compared."""

    effect: Literal["allow", "deny"] | None = Field(
        default=None, description="allow or deny (or give `error` instead)"
    )
    reasons: list[str] | None = Field(
        default=None, description="reason codes, in order; [] for none"
    )
    rules: list[str] | None = Field(
        default=None, description="the rules of the reasons, `policy-id/rule-id`, in order"
    )
    remaining_seconds: Remaining = Field(
        default=None, description='seconds, a duration like "30m", or "none" (allow only)'
    )
    next_allowed_at: Instant = Field(
        default=None, description='an offset date-time, or "none" (deny only)'
    )
    band: str | None = Field(default=None, description="the subject's band")
    obligations: list[str] | None = Field(
        default=None, description="obligation types, in order; [] for none"
    )
    error: str | None = Field(
        default=None, description="the request must be rejected with this code"
    )

    @model_validator(mode="after")
    def _effect_or_error(self) -> Expect:
        if (self.effect is None) == (self.error is None):
            raise ValueError("give either `effect` or `error`")
        return self


class Case(Strict):
    """One decision request and what its decision must be."""

    name: str = Field(min_length=1)
    request: dict[str, Any] = Field(description="a decision request, as in the API")
    expect: Expect
    description: str | None = None
    source: str | None = None


class CaseFile(Strict):
    """A policy test file (`*_test.toml`)."""

    policy: str | None = Field(default=None, description="default `policy` of every request")
    description: str | None = None
    case: list[Case] = Field(min_length=1, description="the cases, one [[case]] each")


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


# -- reading test files -------------------------------------------------------------------------
def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every `*_test.toml` named, or anywhere under a named folder, sorted."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob(f"*{TEST_SUFFIX}") if p.is_file()))
        else:
            found.append(path)
    return found


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def read_test_file(path: Path) -> tuple[CaseFile | None, PositionIndex | None, list[Problem]]:
    """Parse and validate one test file; the problems found say where and how to fix them."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        message = f"cannot read `{name}`: {err.strerror}"
        return None, None, [Problem("unreadable_file", message, name)]
    except UnicodeDecodeError as err:
        message = f"file is not UTF-8: {err.reason} at byte {err.start}"
        return None, None, [Problem("invalid_encoding", message, name, hint="save it as UTF-8")]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = _TOML_POSITION.search(str(err))
        line, col = (int(match[1]), int(match[2])) if match else (None, None)
        message = _TOML_POSITION.sub("", str(err))
        message = message[0].lower() + message[1:] if message else "invalid TOML"
        return None, None, [Problem("toml_syntax", message, name, line, col)]
    positions = index_positions(text)
    problems = _missing_at(raw, positions, name)
    try:
        tests = CaseFile.model_validate(raw)
    except ValidationError as err:
        problems += [_schema_problem(e, positions, name) for e in err.errors()]
        return None, positions, sorted(problems, key=Problem.sort_key)
    return tests, positions, problems


def _schema_problem(error: Any, positions: PositionIndex, name: str) -> Problem:
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    where = positions.find(loc)
    line, col = where if where else (None, None)
    key = format_key(loc) or None
    last = str(loc[-1]) if loc else ""
    if error["type"] == "extra_forbidden":
        allowed = list(_table_model(loc[:-1]).model_fields)
        hint = did_you_mean(last, allowed) or "allowed keys: " + ", ".join(allowed)
        return Problem("unknown_key", f"unknown key `{last}`", name, line, col, key, hint)
    if error["type"] == "missing":
        hint = (
            "add at least one [[case]] with `name`, `request` and `expect`"
            if loc == ("case",)
            else "each [[case]] needs `name`, `request` and `expect`"
        )
        return Problem("missing_key", f"missing required key `{last}`", name, line, col, key, hint)
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem("invalid_value", message[0].lower() + message[1:], name, line, col, key)


def _table_model(path: tuple[Any, ...]) -> type[BaseModel]:
    """The model of the table at ``path`` in a test file, to list its keys."""
    if len(path) == 3 and path[2] == "expect":
        return Expect
    if len(path) == 2 and path[0] == "case":
        return Case
    return CaseFile


def _missing_at(raw: dict[str, Any], positions: PositionIndex, name: str) -> list[Problem]:
    """A problem for every case whose request has no `at`."""
    cases = raw.get("case")
    out = []
    for index, case in enumerate(cases if isinstance(cases, list) else []):
        request = case.get("request") if isinstance(case, dict) else None
        if not isinstance(request, dict) or "at" in request:
            continue
        where = positions.find(("case", index, "request"))
        line, col = where if where else (None, None)
        out.append(
            Problem(
                "missing_key",
                f"case `{case.get('name', index)}` has no `request.at`",
                name,
                line,
                col,
                format_key(("case", index, "request", "at")),
                "give every case a fixed time, e.g. request.at = 2026-11-27T20:30:00+08:00, "
                "so the test does not depend on the day it runs",
            )
        )
    return out


# -- running cases ------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """TOML values as JSON values: dates and times become ISO text."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def case_request(tests: CaseFile, case: Case) -> dict[str, Any]:
    """The case's request as the engine takes it, with the file's default policy."""
    request: dict[str, Any] = jsonable(case.request)
    if tests.policy is not None:
        request.setdefault("policy", tests.policy)
    return request


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
        for policy in engine.policies.values():
            self.report.coverage.setdefault(
                policy.id,
                PolicyCoverage(policy.id, {r.ref: RuleCount(r.ref, r.kind) for r in policy.rules}),
            )

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


# -- the command --------------------------------------------------------------------------------
def register(sub: Any) -> None:
    """Add `test` to the `youthmode` command."""
    cmd = sub.add_parser(
        "test",
        help="run policy test files (*_test.toml) and report rule coverage",
        description="Run the [[case]]s of policy test files against the policies beside them.",
    )
    cmd.add_argument(
        "paths", nargs="*", default=["configs"], help="test files or folders (configs)"
    )
    cmd.add_argument(
        "--policies",
        action="append",
        metavar="PATH",
        help="test against this policy folder or file (repeatable), not the one of each file",
    )
    cmd.add_argument("--coverage", action="store_true", help="print per-rule counts")
    cmd.add_argument(
        "--threshold",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="fail when a policy has fewer rules exercised than this",
    )
    cmd.add_argument("-k", dest="name_filter", help="run only cases whose name contains this")
    cmd.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    cmd.add_argument("--format", choices=["text", "json"], default="text")
    cmd.set_defaults(run=run_test)


def run_test(args: argparse.Namespace) -> int:
    """Run the test files named (default: every one under configs/); exit 1 on any failure."""
    files = find_test_files(args.paths)
    runner = Runner(args.policies, args.name_filter)
    for path in files:
        runner.run_file(path)
    report = runner.report
    low = below_threshold(report, args.threshold)
    if args.format == "json":
        data = report.to_dict()
        data["ok"] = report.ok and not low
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for line in report_lines(report, args, low):
            print(line)
    return 0 if report.ok and not low else 1


def below_threshold(report: Report, threshold: float) -> list[PolicyCoverage]:
    """Policies whose share of exercised rules is under ``threshold`` percent."""
    return [c for c in report.coverage.values() if c.percent < threshold]


def report_lines(report: Report, args: argparse.Namespace, low: list[PolicyCoverage]) -> list[str]:
    """The text report: problems, failures, coverage, and the summary line last."""
    lines = [f"{p}" for p in report.problems]
    if not report.files:
        lines.append(
            f"no test files (*{TEST_SUFFIX}) in {', '.join(args.paths)}: "
            f"write one next to the policies, e.g. configs/my-policy{TEST_SUFFIX}"
        )
    for result in report.results:
        if args.verbose and result.passed:
            lines.append(f"PASS {_where(result)}: {result.name}")
        if not result.passed:
            lines += failure_lines(result)
    if report.results:
        lines += coverage_lines(report, detailed=args.coverage)
    for item in low:
        lines.append(
            f"coverage of {item.policy} is {item.percent:.0f}%, under --threshold "
            f"{args.threshold:g}%: add cases for the rules not exercised"
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
