"""The flags several commands take, spelled once, and the request they describe.

- Choosing policies: `--policies PATH` (repeatable) loads policy files or folders; `--policy ID`
  picks one of them. `diff` and `floor` used to spell `--policies` as `--with`, which still works.
- The request: `--age`, `--birthdate`, `--verified`/`--unverified`, `--today` (seconds or a
  duration like 40m; the former `--today-seconds` still works), `--session`, `--month-spent`,
  `--day-spent`, `--at`, resource and guardian fields.
- The world (CONTRACT section 6): `--age-signal 13-15:guardian_declared` (repeatable),
  `--jurisdiction US-TX`, `--app-consent`, `--linked`, `--app-today`, `--week-used`.
- `--format text|json`.

Old spellings are kept as hidden aliases (`help=argparse.SUPPRESS`) so scripts keep working.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from youthmode import shipped
from youthmode.units import UnitError, parse_duration

DEFAULT_POLICIES = "configs"
Group = argparse.ArgumentParser | argparse._ArgumentGroup


class UsageError(ValueError):
    """A request that cannot be built from the command line; the message names the fix."""


# -- output --------------------------------------------------------------------------------------
def add_format(
    cmd: argparse.ArgumentParser, *, default: str | None = "text", help: str | None = None
) -> None:
    """`--format text|json`."""
    cmd.add_argument("--format", choices=["text", "json"], default=default, help=help)


# -- choosing policies ----------------------------------------------------------------------------
def add_policies(cmd: Group, help: str, *, several: bool = False) -> None:
    """`--policies PATH`, repeatable; with ``several`` one flag may also take several paths (as
    `schedule --policies a b` always did). Read it with `policy_paths`."""
    if several:
        cmd.add_argument(
            "--policies", action="extend", nargs="+", metavar="PATH", default=None, help=help
        )
    else:
        cmd.add_argument("--policies", action="append", metavar="PATH", help=help)


def add_extra_policies(cmd: argparse.ArgumentParser, help: str) -> None:
    """`--policies PATH` (repeatable) into ``args.extra``: policies loaded beside the ones
    compared (`diff`, `floor`); `--with PATH`, the former spelling, still works."""
    cmd.add_argument(
        "--policies", dest="extra", action="append", default=[], metavar="PATH", help=help
    )
    cmd.add_argument("--with", dest="extra", action="append", help=argparse.SUPPRESS)


def policy_paths(args: argparse.Namespace) -> list[str]:
    """The policy paths given with --policies, or the default (`default_policies`)."""
    return list(args.policies or [default_policies()])


def default_policies() -> str:
    """`configs`, or outside a checkout with no `configs/` here the packs shipped with
    youthmode, said on stderr so the output is never mistaken for the user's own policies."""
    return shipped.default_policies(lambda notice: print(f"youthmode: {notice}", file=sys.stderr))


def add_policy_paths(cmd: Group) -> None:
    """`[PATH ...]`: the policy files or folders a command reads (`given_paths` resolves them)."""
    cmd.add_argument(
        "paths", nargs="*", help="files or folders (default: configs, else the shipped packs)"
    )


def given_paths(args: argparse.Namespace) -> list[str]:
    """The positional paths given, or the default policies (`default_policies`)."""
    return [str(p) for p in args.paths] or [default_policies()]


def add_policy(cmd: Group, help: str) -> None:
    """`--policy ID`: one policy among those loaded."""
    cmd.add_argument("--policy", help=help)


# -- the request ----------------------------------------------------------------------------------
def add_subject(cmd: Group, *, exclusive: bool = False) -> None:
    """`--age`, `--birthdate` (one or the other with ``exclusive``), `--verified`/`--unverified`."""
    who = cmd.add_mutually_exclusive_group() if exclusive else cmd
    who.add_argument("--age", type=int, help="subject.age in whole years")
    who.add_argument("--birthdate", help="subject.birthdate, e.g. 2014-03-02")
    verified = cmd.add_mutually_exclusive_group()
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


def add_today(cmd: Group) -> None:
    """`--today` in seconds or a duration; `--today-seconds`, schedule's former spelling."""
    cmd.add_argument("--today", help="usage.today_seconds: seconds or a duration like 40m")
    cmd.add_argument("--today-seconds", type=int, help=argparse.SUPPRESS)


def add_usage(cmd: Group) -> None:
    """`--today` and the rest of the request's usage: `--session`, `--month-spent`,
    `--day-spent`."""
    add_today(cmd)
    cmd.add_argument("--session", help="usage.session_seconds: seconds or a duration")
    cmd.add_argument("--month-spent", help="usage.month_spent, e.g. 150.00")
    cmd.add_argument("--day-spent", help="usage.day_spent, e.g. 20.00")
    cmd.add_argument("--app-today", help="usage.app_today_seconds: seconds or a duration")
    cmd.add_argument("--week-used", help="usage.week_seconds: seconds or a duration")


def add_resource(cmd: Group, *, amount_help: str = "resource.amount, e.g. 50.00") -> None:
    """`--amount` and `--category` (resource fields)."""
    cmd.add_argument("--amount", help=amount_help)
    cmd.add_argument("--category", help="resource.category, e.g. filed_education")


def add_min_age(cmd: Group) -> None:
    """`--min-age`: the content's minimum age."""
    cmd.add_argument("--min-age", type=int, help="resource.min_age of the content")


def add_guardian(cmd: Group) -> None:
    """`--exempt CODE` and `--consent ACTION`, each repeatable."""
    cmd.add_argument(
        "--exempt", action="append", metavar="CODE", help="guardian.exemptions (repeatable)"
    )
    cmd.add_argument(
        "--consent", action="append", metavar="ACTION", help="guardian.consents (repeatable)"
    )


def add_world(cmd: Group) -> None:
    """CONTRACT section 6: `--age-signal` (repeatable), `--jurisdiction`, `--app-consent`,
    `--linked`/`--not-linked`."""
    cmd.add_argument(
        "--age-signal",
        action="append",
        metavar="RANGE:METHOD[:SOURCE]",
        help="subject.age_signals (repeatable): 13-15:guardian_declared, 16+:gov_id, "
        "0-12:self_declared (or --age-signal=-12:...), ?:self_declared (declined: no age)",
    )
    cmd.add_argument("--jurisdiction", help="subject.jurisdiction, e.g. VN or US-TX")
    cmd.add_argument(
        "--app-consent",
        choices=["approved", "pending", "denied", "revoked"],
        help="guardian.app_consent, as the platform reports it",
    )
    linked = cmd.add_mutually_exclusive_group()
    linked.add_argument(
        "--linked", dest="linked", action="store_const", const=True, help="guardian.linked"
    )
    linked.add_argument("--not-linked", dest="linked", action="store_const", const=False)


def age_signal(text: str) -> dict[str, Any]:
    """`13-15:guardian_declared[:source]` -> one `subject.age_signals` item."""
    span, _, rest = text.partition(":")
    method, _, source = rest.partition(":")
    if not method:
        raise UsageError(
            f"--age-signal: `{text}` needs a method after the range, e.g. 13-15:guardian_declared"
        )
    span = span.strip()
    try:
        if span in ("", "?"):
            lower = upper = None
        elif span.endswith("+"):
            lower, upper = int(span[:-1]), None
        elif span.startswith("-"):
            lower, upper = None, int(span[1:])
        elif "-" in span:
            first, last = span.split("-", 1)
            lower, upper = int(first), int(last)
        else:
            lower = upper = int(span)
    except ValueError:
        raise UsageError(
            f"--age-signal: `{span}` is not a range; write 13-15, 16+, -12, 14 or ?"
        ) from None
    return {"source": source or "cli", "lower": lower, "upper": upper, "method": method}


def world_fields(args: argparse.Namespace) -> list[tuple[str, str, object]]:
    """The section-6 fields given as flags, as (table, key, value)."""
    signals = [age_signal(text) for text in args.age_signal or ()]
    return [
        ("subject", "age_signals", signals or None),
        ("subject", "jurisdiction", args.jurisdiction),
        ("guardian", "app_consent", args.app_consent),
        ("guardian", "linked", args.linked),
    ]


def seconds(text: str, flag: str) -> int:
    """`"90"` or `"40m"` -> seconds."""
    if text.strip().isdigit():
        return int(text)
    try:
        return parse_duration(text)
    except UnitError as err:
        raise UsageError(f"{flag}: {err.message}; give seconds or a duration like 40m") from None


def today_seconds(args: argparse.Namespace) -> int | None:
    """`--today` (seconds or a duration), else `--today-seconds`, else None."""
    if args.today is not None:
        return seconds(args.today, "--today")
    value: int | None = args.today_seconds
    return value


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


def set_field(request: dict[str, Any], table: str, key: str, value: object) -> None:
    """``request[table][key] = value`` unless ``value`` is None."""
    if value is None:
        return
    part = request.get(table)
    if not isinstance(part, dict):
        part = request[table] = {}
    part[key] = value


def set_fields(request: dict[str, Any], table: str, fields: Sequence[tuple[str, object]]) -> None:
    """`set_field` for each (key, value)."""
    for key, value in fields:
        set_field(request, table, key, value)


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The request file (if any) with every field given as a flag set on top of it."""
    request = read_request(args.request)
    if args.at is not None:
        check_at(args.at)
    top = {"policy": args.policy, "action": args.action, "at": args.at}
    request.update({k: v for k, v in top.items() if v is not None})
    set_fields(
        request,
        "subject",
        [("age", args.age), ("birthdate", args.birthdate), ("verified", args.verified)],
    )
    set_field(request, "usage", "today_seconds", today_seconds(args))
    if args.session is not None:
        set_field(request, "usage", "session_seconds", seconds(args.session, "--session"))
    set_fields(request, "usage", [("month_spent", args.month_spent), ("day_spent", args.day_spent)])
    fields = ("amount", "category", "app", "min_age", "recipient")
    set_fields(request, "resource", [(f, getattr(args, f)) for f in fields])
    set_fields(request, "guardian", [("exemptions", args.exempt), ("consents", args.consent)])
    for table, key, value in world_fields(args):
        set_field(request, table, key, value)
    if args.app_today is not None:
        set_field(request, "usage", "app_today_seconds", seconds(args.app_today, "--app-today"))
    if args.week_used is not None:
        set_field(request, "usage", "week_seconds", seconds(args.week_used, "--week-used"))
    if "action" not in request:
        raise UsageError("no action: give --action (e.g. --action app.use) or a request file")
    return request


# -- diff and floor --------------------------------------------------------------------------------
def add_comparison(cmd: argparse.ArgumentParser) -> None:
    """What `diff` and `floor` share: policies loaded beside, years, output and its length."""
    add_extra_policies(
        cmd, "more policy files or folders to load, e.g. the parent a pack extends (repeatable)"
    )
    cmd.add_argument(
        "--year",
        type=int,
        action="append",
        help="calendar year whose kinds of day are checked (repeatable; default: this year)",
    )
    add_format(cmd)
    cmd.add_argument(
        "--max-regions", type=int, default=20, help="regions printed in text (default 20)"
    )
    cmd.add_argument(
        "--max-per-rule",
        type=int,
        default=3,
        help="regions printed in text per rule responsible (default 3)",
    )


def years(args: argparse.Namespace) -> list[int]:
    """The years given with --year, or this one."""
    return list(args.year) if args.year else [datetime.now().year]
