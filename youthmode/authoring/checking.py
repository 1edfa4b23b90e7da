"""`youthmode check`, `youthmode explain` and `youthmode decide`.

`check` validates policy files and prints every problem as `file:line:col: code: message`
(with its hint), followed by a link to the page that explains the code. `explain` answers one
decision request and shows the trace of every rule the engine considered; `decide` prints the
bare decision as JSON. A request comes from a JSON file, from stdin (`-`), or from flags such as
`--age 12 --action game.play --at 2026-11-27T20:30+08:00`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from youthmode.engine import Engine
from youthmode.errors import PolicyError, Problem, RequestError
from youthmode.model import Decision, Explanation, RuleTrace
from youthmode.policies import CompiledPolicy, check_policies, diagnostics, in_force
from youthmode.units import UnitError, format_duration, parse_duration

ERRORS_DOCS = "docs/errors"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    """Add `check`, `explain` and `decide` to the `youthmode` command."""
    check = sub.add_parser(
        "check",
        help="validate policy files",
        description="Validate policy files: every problem, with its hint and help page.",
    )
    check.add_argument("paths", nargs="*", default=["configs"], help="files or folders")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.set_defaults(run=run_check)
    explain = sub.add_parser(
        "explain",
        help="explain a decision: the answer and the trace of every rule",
        description="Decide one request and show every rule the engine considered.",
    )
    _request_arguments(explain)
    explain.add_argument(
        "--applicable", action="store_true", help="leave rules out of scope out of the table"
    )
    explain.add_argument("--format", choices=["text", "json"], default="text")
    explain.set_defaults(run=run_explain)
    decide = sub.add_parser(
        "decide",
        help="decide a request and print the decision as JSON",
        description="Decide one request (JSON file, - for stdin, or flags); print the decision.",
    )
    _request_arguments(decide)
    decide.set_defaults(run=run_decide)


# -- check --------------------------------------------------------------------------------------
def doc_link(code: str) -> str:
    """The help page of a problem code, relative to the repository root."""
    return f"{ERRORS_DOCS}/{code}.md"


def calendar_problems(policies: Sequence[CompiledPolicy], today: datetime) -> list[Problem]:
    """Warnings for policies whose calendar has no official schedule this year or next."""
    out = []
    for policy in policies:
        if policy.calendar.country is None:
            continue
        for row in policy.calendar.coverage([today.year, today.year + 1]):
            if not row.official:
                found = diagnostics.CALENDAR_UNOFFICIAL_YEAR(
                    policy=policy.id, country=policy.calendar.country, year=row.year
                )
                out.append(found.at(policy.files[-1]))
    return out


def run_check(args: argparse.Namespace) -> int:
    """Validate the policy files named in ``args.paths``; exit 1 on any error."""
    paths = [str(p) for p in args.paths]
    policies, problems = check_policies(paths)
    problems += calendar_problems(policies, datetime.now(UTC))
    problems += in_force.meta_warnings(policies, datetime.now(UTC))
    problems.sort(key=Problem.sort_key)
    errors = sum(1 for p in problems if p.severity == "error")
    if args.format == "json":
        print(json.dumps(check_report(policies, problems), ensure_ascii=False, indent=2))
    else:
        for line in check_lines(policies, problems, paths):
            print(line)
    return EXIT_PROBLEMS if errors else EXIT_OK


def check_report(policies: Sequence[CompiledPolicy], problems: Sequence[Problem]) -> dict[str, Any]:
    """The JSON form of a check: problems (each with its help page) and the policies loaded."""
    errors = sum(1 for p in problems if p.severity == "error")
    return {
        "ok": not errors,
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [{**p.to_dict(), "doc": doc_link(p.code)} for p in problems],
        "policies": [p.summary() for p in policies],
    }


def problem_lines(problem: Problem) -> list[str]:
    """`file:line:col: code: message (at key); hint`, then where to read more."""
    link = f"see {doc_link(problem.code)}"
    if problem.severity == "warning":
        link = f"warning (does not fail the check); {link}"
    return [str(problem), f"  {link}"]


def check_lines(
    policies: Sequence[CompiledPolicy], problems: Sequence[Problem], paths: Sequence[str]
) -> list[str]:
    """The text form of a check: every problem, every policy loaded, one summary line."""
    lines = [line for p in problems for line in problem_lines(p)]
    for policy in policies:
        years = [row.year for row in policy.calendar.coverage(range(2020, 2031)) if row.official]
        span = f"{years[0]}-{years[-1]}" if years else "none"
        rules = len(policy.rules)
        lines.append(
            f"ok: {policy.id} {policy.version} ({rules} rule{'s' if rules != 1 else ''}, "
            f"official calendar years {span}) {policy.digest}"
        )
    lines.append(_summary(problems, paths))
    return lines


def _summary(problems: Sequence[Problem], paths: Sequence[str]) -> str:
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    where = ", ".join(paths)
    counts = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    if errors:
        return f"checked {where}: {counts}; fix the errors above"
    return f"checked {where}: {counts}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# -- requests from files, stdin or flags --------------------------------------------------------
def _request_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "request", nargs="?", help="a JSON request file, or - for stdin; flags override it"
    )
    cmd.add_argument(
        "--policies",
        action="append",
        metavar="PATH",
        help="a policy folder or file (repeatable; default: configs)",
    )
    who = cmd.add_argument_group("request fields (each sets one field of the request)")
    who.add_argument("--policy", help="policy id (default: the default policy)")
    who.add_argument("--action", help="action name from the catalog, e.g. game.play")
    who.add_argument("--at", help="RFC 3339 time with offset, e.g. 2026-11-27T20:30+08:00")
    who.add_argument("--age", type=int, help="subject.age in whole years")
    who.add_argument("--birthdate", help="subject.birthdate, e.g. 2014-03-02")
    verified = who.add_mutually_exclusive_group()
    verified.add_argument(
        "--verified", dest="verified", action="store_const", const=True, help="subject verified"
    )
    verified.add_argument(
        "--unverified",
        dest="verified",
        action="store_const",
        const=False,
        help="subject not verified (the default, as in the API)",
    )
    who.add_argument("--today", help="usage.today_seconds: seconds or a duration like 40m")
    who.add_argument("--session", help="usage.session_seconds: seconds or a duration")
    who.add_argument("--month-spent", help="usage.month_spent, e.g. 150.00")
    who.add_argument("--day-spent", help="usage.day_spent, e.g. 20.00")
    who.add_argument("--amount", help="resource.amount, e.g. 50.00")
    who.add_argument("--category", help="resource.category, e.g. filed_education")
    who.add_argument("--app", help="resource.app")
    who.add_argument("--min-age", type=int, help="resource.min_age of the content")
    who.add_argument("--recipient", choices=["contact", "stranger"], help="resource.recipient")
    who.add_argument(
        "--exempt", action="append", metavar="CODE", help="guardian.exemptions (repeatable)"
    )
    who.add_argument(
        "--consent", action="append", metavar="ACTION", help="guardian.consents (repeatable)"
    )


class UsageError(ValueError):
    """A request that cannot be built from the command line; the message names the fix."""


def seconds(text: str, flag: str) -> int:
    """`"90"` or `"40m"` -> seconds."""
    if text.strip().isdigit():
        return int(text)
    try:
        return parse_duration(text)
    except UnitError as err:
        raise UsageError(f"{flag}: {err.message}; give seconds or a duration like 40m") from None


def read_request(source: str | None) -> dict[str, Any]:
    """The request in a JSON file, or on stdin for `-`; an empty request without a source."""
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read `{source}`: {err.strerror}") from None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as err:
        where = "stdin" if source == "-" else source
        raise UsageError(
            f"{where}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}; "
            "a request is a JSON object such as "
            '{"subject": {"age": 12}, "action": "app.use"}'
        ) from None
    if not isinstance(request, dict):
        raise UsageError('a request must be a JSON object, e.g. {"action": "app.use"}')
    return request


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The request file (if any) with every field given as a flag set on top of it."""
    request = read_request(args.request)
    if args.at is not None:
        check_at(args.at)
    top = {"policy": args.policy, "action": args.action, "at": args.at}
    request.update({k: v for k, v in top.items() if v is not None})
    _set(request, "subject", "age", args.age)
    _set(request, "subject", "birthdate", args.birthdate)
    _set(request, "subject", "verified", args.verified)
    if args.today is not None:
        _set(request, "usage", "today_seconds", seconds(args.today, "--today"))
    if args.session is not None:
        _set(request, "usage", "session_seconds", seconds(args.session, "--session"))
    _set(request, "usage", "month_spent", args.month_spent)
    _set(request, "usage", "day_spent", args.day_spent)
    for field in ("amount", "category", "app", "min_age", "recipient"):
        _set(request, "resource", field, getattr(args, field))
    _set(request, "guardian", "exemptions", args.exempt)
    _set(request, "guardian", "consents", args.consent)
    if "action" not in request:
        raise UsageError("no action: give --action (e.g. --action app.use) or a request file")
    return request


def check_at(text: str) -> None:
    """`--at` must be a date and time with an offset: a bare local time is ambiguous."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--at: `{text}` is not a date and time; write e.g. 2026-11-27T20:30+08:00"
        ) from None
    if at.tzinfo is None:
        raise UsageError(
            f"--at: `{text}` has no UTC offset; add the policy's, e.g. {text}+08:00 "
            "for Asia/Shanghai"
        )


def _set(request: dict[str, Any], table: str, key: str, value: object) -> None:
    if value is None:
        return
    part = request.get(table)
    if not isinstance(part, dict):
        part = request[table] = {}
    part[key] = value


def policy_paths(args: argparse.Namespace) -> list[str]:
    """The policy paths given with --policies, or configs."""
    return list(args.policies or ["configs"])


def _engine(paths: Sequence[str]) -> Engine:
    return Engine.from_path(*paths)


def _answer(args: argparse.Namespace, *, as_json: bool) -> tuple[Explanation | None, int]:
    """Build the request and explain it; on failure print why (to stderr) and return 2.

    An invalid request is reported as `{"errors": [...]}` when ``as_json``, as the HTTP API
    does, and as one line per problem otherwise.
    """
    command = f"youthmode {args.command}"
    try:
        request = build_request(args)
        return _engine(policy_paths(args)).explain(request), EXIT_OK
    except UsageError as err:
        _err(f"{command}: {err}")
    except PolicyError as err:
        _err(f"{command}: the policies do not load:")
        for problem in err.problems:
            _err(f"  {problem}")
        _err(f"  run `youthmode check {' '.join(policy_paths(args))}` for help on each problem")
    except RequestError as err:
        if as_json:
            _err(_json({"errors": [p.to_dict() for p in err.problems]}))
        else:
            _err(f"{command}: invalid request:")
            for line in request_error_lines(err):
                _err(f"  {line}")
    return None, EXIT_USAGE


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def request_error_lines(err: RequestError) -> list[str]:
    """One line per problem: `field: message [code]; hint`."""
    lines = []
    for p in err.problems:
        where = ".".join(str(part) for part in p.loc) or "request"
        line = f"{where}: {p.msg} [{p.code}]"
        if p.hint:
            line += f"; {p.hint}"
        lines.append(line)
    return lines


# -- decide ---------------------------------------------------------------------------------
def run_decide(args: argparse.Namespace) -> int:
    """Print the decision for one request as JSON (exit 2 on an invalid request)."""
    explanation, code = _answer(args, as_json=True)
    if explanation is not None:
        print(_json(explanation.decision.model_dump(mode="json")))
    return code


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# -- explain --------------------------------------------------------------------------------
def run_explain(args: argparse.Namespace) -> int:
    """Print the decision and the trace of every rule, as text or JSON."""
    explanation, code = _answer(args, as_json=args.format == "json")
    if explanation is None:
        return code
    if args.format == "json":
        print(_json(explanation.model_dump(mode="json")))
        return EXIT_OK
    for line in explanation_lines(explanation, only_applicable=args.applicable):
        print(line)
    return EXIT_OK


def explanation_lines(explanation: Explanation, *, only_applicable: bool = False) -> list[str]:
    """A decision for a terminal: the answer, why, what next, then every rule considered."""
    decision = explanation.decision
    lines = decision_lines(decision)
    trace = [t for t in explanation.trace if t.applies or not only_applicable]
    lines += ["", *trace_table(trace)]
    hidden = len(explanation.trace) - len(trace)
    if hidden:
        lines.append(f"({_plural(hidden, 'rule')} out of scope not shown)")
    return lines


def decision_lines(decision: Decision) -> list[str]:
    """Effect, band, policy and time, reasons with both messages, then when and what next."""
    facts = decision.facts
    age = "age unknown" if facts.age is None else f"age {facts.age}"
    verified = "verified" if facts.verified else "not verified"
    official = "" if facts.calendar_official else ", no official calendar"
    lines = [
        f"effect:   {decision.effect}",
        f"band:     {decision.band} ({age}, {verified})",
        f"policy:   {decision.policy.id} {decision.policy.version}",
        f"time:     {facts.local_time.isoformat()} "
        f"({facts.local_time:%A}, {facts.day_type}{official})",
    ]
    if facts.waived:
        lines.append(f"waived:   {', '.join(facts.waived)}")
    if decision.reasons:
        lines.append("reasons:")
        for reason in decision.reasons:
            lines += [
                f"  {reason.code} ({reason.rule})",
                f"    zh-CN: {reason.message}",
                f"    en:    {reason.message_en}",
            ]
    lines += _timing(decision)
    for obligation in decision.obligations:
        at = f" at {obligation.at.isoformat()}" if obligation.at else ""
        lines.append(f"obligation: {obligation.type}{at} ({obligation.rule})")
        lines += [f"    zh-CN: {obligation.message}", f"    en:    {obligation.message_en}"]
    for remedy in decision.remedies:
        lines.append(f"remedy:   {_remedy(remedy.model_dump(mode='json', exclude_none=True))}")
    return lines


def _timing(decision: Decision) -> list[str]:
    if decision.allowed:
        if decision.remaining_seconds is None:
            return ["remaining: unlimited (nothing cuts use off within 48 hours)"]
        until = decision.valid_until.isoformat() if decision.valid_until else "?"
        left = format_duration(decision.remaining_seconds)
        return [f"remaining: {decision.remaining_seconds} s ({left}, until {until})"]
    if decision.next_allowed_at is None:
        return ["next allowed: none (waiting does not help within 14 days)"]
    wait = int((decision.next_allowed_at - decision.facts.local_time).total_seconds())
    return [f"next allowed: {decision.next_allowed_at.isoformat()} (in {format_duration(wait)})"]


def _remedy(remedy: dict[str, Any]) -> str:
    kind = remedy.pop("type")
    details = ", ".join(f"{k} {v}" for k, v in remedy.items())
    return f"{kind} ({details})" if details else kind


TRACE_HEADER = ("rule", "kind", "outcome", "detail")


def trace_table(trace: Sequence[RuleTrace]) -> list[str]:
    """Every rule considered, one row each, in aligned columns."""
    rows = [TRACE_HEADER, *((t.rule, t.kind, t.outcome, t.detail) for t in trace)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
