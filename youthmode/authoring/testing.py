"""Policy test files (`*_test.toml`), behind `youthmode test`: their format and reading them.

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

Every case needs `request.at`, so a test never depends on the day it runs. Running the cases,
their results and coverage are in `youthmode.authoring.testrun`.
"""

from __future__ import annotations

from collections.abc import Iterable
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

from youthmode.errors import Problem, did_you_mean
from youthmode.policies.positions import PositionIndex
from youthmode.policies.source import format_key, read_toml
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


def read_test_file(path: Path) -> tuple[CaseFile | None, PositionIndex | None, list[Problem]]:
    """Parse and validate one test file; the problems found say where and how to fix them."""
    source, problems = read_toml(path)
    if source is None:
        return None, None, problems
    raw, positions, name = source.raw, source.positions, source.name
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
# -- requests of cases -------------------------------------------------------------------------
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
