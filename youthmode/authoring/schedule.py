"""`youthmode schedule`: when a policy allows an action for a subject, over one ISO week.

The decision can only change at a window edge of the policy or at midnight, so each day is cut
at those edges and decided once per slice with the engine itself: the intervals are exact to
the second. Output: a text grid (half-hour cells), JSON intervals, or an SVG for reviews.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from youthmode.authoring.checking import UsageError, seconds
from youthmode.authoring.domain import load_set
from youthmode.calendar import WEEKDAYS
from youthmode.engine import Engine
from youthmode.errors import PolicyError, RequestError
from youthmode.policies import CompiledPolicy
from youthmode.units import format_duration, format_time_of_day

DAY = 86400
CELLS = 48  # half hours
WEEK_PATTERN = re.compile(r"^(\d{4})-?W(\d{2})$")
MARKS = {"holiday": "H", "makeup_workday": "M"}
TYPE_NAMES = {
    "workday": "workday",
    "weekend": "weekend",
    "holiday": "holiday",
    "makeup_workday": "make-up workday",
}
FULL, PART, NONE = "█", "▒", "·"


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end) in local seconds of the day, allowed or denied (with the reason codes)."""

    start: int
    end: int
    allowed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DaySchedule:
    day: date
    day_type: str
    band: str
    spans: tuple[Span, ...]

    @property
    def allowed(self) -> list[Span]:
        return [s for s in self.spans if s.allowed]

    def cell(self, index: int, size: int = DAY // CELLS) -> str:
        """The grid character for one cell: allowed throughout, in part, or not at all."""
        lo, hi = index * size, (index + 1) * size
        covered = sum(max(0, min(hi, s.end) - max(lo, s.start)) for s in self.allowed)
        return FULL if covered == size else PART if covered else NONE


@dataclass(frozen=True, slots=True)
class Schedule:
    policy: CompiledPolicy
    action: str
    week: str
    request: dict[str, Any]
    days: tuple[DaySchedule, ...]

    @property
    def subject_text(self) -> str:
        subject = self.request.get("subject", {})
        if "age" in subject:
            who = f"age {subject['age']}"
        elif "birthdate" in subject:
            who = f"born {subject['birthdate']}"
        else:
            who = "age unknown"
        bands = ", ".join(dict.fromkeys(d.band for d in self.days))
        return f"{who} (band {bands})"

    @property
    def conditions_text(self) -> str:
        parts = ["verified" if self.request["subject"].get("verified") else "not verified"]
        today = self.request.get("usage", {}).get("today_seconds", 0)
        parts.append(f"{format_duration(today)} used today" if today else "nothing used today")
        guardian = self.request.get("guardian", {})
        if guardian.get("exemptions"):
            parts.append("waived: " + ", ".join(guardian["exemptions"]))
        if guardian.get("consents"):
            parts.append("consents: " + ", ".join(guardian["consents"]))
        resource = self.request.get("resource", {})
        for key in ("category", "amount", "min_age"):
            if key in resource:
                parts.append(f"{key} {resource[key]}")
        return ", ".join(parts)


def parse_week(text: str | None, today: date | None = None) -> list[date]:
    """`2026-W07` (or `2026W07`) -> its seven dates, Monday first; None: this week."""
    if text is None:
        year, week, _ = (today or date.today()).isocalendar()
    else:
        match = WEEK_PATTERN.match(text.strip())
        if match is None:
            raise ValueError(f"`{text}` is not an ISO week; write it like 2026-W07")
        year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {week}") from None
    return [monday + timedelta(days=i) for i in range(7)]


def week_name(days: list[date]) -> str:
    year, week, _ = days[0].isocalendar()
    return f"{year}-W{week:02d}"


def compute(
    engine: Engine, policy: CompiledPolicy, request: dict[str, Any], days: list[date]
) -> Schedule:
    """Decide the request at the start of every slice of every day (raises RequestError)."""
    edges = sorted({0, *(e for r in policy.rules for e in r.edges)})
    out = []
    for day in days:
        spans: list[Span] = []
        band = ""
        day_type = policy.calendar.day_type(day)
        for start, end in zip(edges, [*edges[1:], DAY], strict=True):
            h, rest = divmod(start, 3600)
            at = datetime.combine(day, time(h, rest // 60, rest % 60), tzinfo=policy.zone)
            decision = engine.decide({**request, "at": at.isoformat()})
            band = band or decision.band
            allowed, reasons = decision.allowed, tuple(decision.reason_codes)
            if spans and spans[-1].allowed == allowed and spans[-1].reasons == reasons:
                spans[-1] = Span(spans[-1].start, end, allowed, reasons)
            else:
                spans.append(Span(start, end, allowed, reasons))
        out.append(DaySchedule(day, day_type, band, tuple(spans)))
    return Schedule(policy, request["action"], week_name(days), request, tuple(out))


# -- text ------------------------------------------------------------------------------------
def render_text(schedule: Schedule) -> str:
    p = schedule.policy
    first, last = schedule.days[0].day, schedule.days[-1].day
    lines = [
        f"{p.id} {p.version} · {schedule.action} · {schedule.subject_text}",
        f"{schedule.conditions_text}",
        f"week {schedule.week}: {first.isoformat()} – {last.isoformat()} ({p.timezone})",
        "",
    ]
    pad = " " * 29
    ticks = [" "] * (CELLS + 2)
    marks = [" "] * (CELLS + 1)
    for hour in range(0, 25, 3):
        pos = hour * 2
        ticks[pos : pos + 2] = list(f"{hour:02d}")
        marks[pos] = "|"
    lines.append(pad + "".join(ticks).rstrip())
    lines.append(pad + "".join(marks).rstrip())
    for d in schedule.days:
        mark = MARKS.get(d.day_type, " ")
        label = (
            f"{WEEKDAYS[d.day.weekday()].capitalize()} {d.day:%m-%d} {mark} "
            f"{TYPE_NAMES.get(d.day_type, d.day_type):<15}"
        )
        cells = "".join(d.cell(i) for i in range(CELLS))
        allowed = ", ".join(_span_text(s) for s in d.allowed) or "—"
        lines.append(f"{label}  {cells}  {allowed}")
    lines.append("")
    lines.append(
        f"{FULL} allowed   {PART} allowed part of the half hour   {NONE} denied   "
        "H holiday   M make-up working day (调休)"
    )
    reasons = dict.fromkeys(r for d in schedule.days for s in d.spans for r in s.reasons)
    if reasons:
        lines.append("denied for: " + ", ".join(reasons))
    return "\n".join(lines)


def _span_text(span: Span) -> str:
    return f"{format_time_of_day(span.start)}–{format_time_of_day(span.end)}"


# -- json ------------------------------------------------------------------------------------
def render_json(schedule: Schedule) -> dict[str, Any]:
    p = schedule.policy
    return {
        "policy": {"id": p.id, "version": p.version, "digest": p.digest},
        "timezone": p.timezone,
        "week": schedule.week,
        "request": schedule.request,
        "days": [
            {
                "date": d.day.isoformat(),
                "weekday": WEEKDAYS[d.day.weekday()],
                "day_type": d.day_type,
                "band": d.band,
                "allowed": [
                    [format_time_of_day(s.start), format_time_of_day(s.end)] for s in d.allowed
                ],
                "denied": [
                    {
                        "from": format_time_of_day(s.start),
                        "to": format_time_of_day(s.end),
                        "reasons": list(s.reasons),
                    }
                    for s in d.spans
                    if not s.allowed
                ],
            }
            for d in schedule.days
        ],
    }


# -- svg -------------------------------------------------------------------------------------
SVG_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
LEFT, HOUR, ROW, TOP = 250, 30, 36, 96
GREEN, GREEN_DARK, GREY, GRID = "#2e9d5b", "#1f6f40", "#e9ecf0", "#c7ccd3"
BADGES = {"holiday": ("H", "#c62828", "#fdecec"), "makeup_workday": ("M", "#b26a00", "#fff4e0")}


def render_svg(schedule: Schedule) -> str:
    p = schedule.policy
    width = LEFT + 24 * HOUR + 40
    height = TOP + 7 * ROW + 70
    first, last = schedule.days[0].day, schedule.days[-1].day
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{SVG_FONT}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _text(
            20,
            30,
            f"{p.id} {p.version} · {schedule.action} · {schedule.subject_text}",
            18,
            weight="bold",
        ),
        _text(
            20,
            52,
            f"Week {schedule.week} · {first:%d %b} – {last:%d %b %Y} · {p.timezone} · "
            f"{schedule.conditions_text}",
            13,
            fill="#555",
        ),
    ]
    grid_top = TOP
    grid_bottom = TOP + 7 * ROW
    back: list[str] = []
    front: list[str] = []
    for i, d in enumerate(schedule.days):
        y = TOP + i * ROW
        badge = BADGES.get(d.day_type)
        if badge:
            back.append(
                f'<rect x="10" y="{y}" width="{width - 20}" height="{ROW}" fill="{badge[2]}"/>'
            )
        weekend = d.day.weekday() >= 5 or d.day_type == "holiday"
        front.append(
            _text(
                20,
                y + 23,
                f"{WEEKDAYS[d.day.weekday()].capitalize()} {d.day:%d %b}",
                14,
                weight="bold" if weekend else "normal",
            )
        )
        if badge:
            letter, colour, _ = badge
            front.append(
                f'<rect x="118" y="{y + 9}" width="18" height="18" rx="3" fill="{colour}"/>'
            )
            front.append(
                _text(127, y + 23, letter, 12, fill="#fff", anchor="middle", weight="bold")
            )
            front.append(_text(142, y + 23, TYPE_NAMES[d.day_type], 11, fill=colour))
        else:
            front.append(
                _text(142, y + 23, TYPE_NAMES.get(d.day_type, d.day_type), 11, fill="#777")
            )
        back.append(
            f'<rect x="{LEFT}" y="{y + 6}" width="{24 * HOUR}" height="{ROW - 12}" fill="{GREY}"/>'
        )
        for s in d.allowed:
            x0 = LEFT + s.start * HOUR / 3600
            w = (s.end - s.start) * HOUR / 3600
            label = _span_text(s)
            front.append(
                f'<rect x="{x0:.1f}" y="{y + 6}" width="{w:.1f}" height="{ROW - 12}" '
                f'fill="{GREEN}"><title>{escape(label)}</title></rect>'
            )
            if w >= 78:
                front.append(_text(x0 + w / 2, y + 23, label, 11, fill="#fff", anchor="middle"))
            elif x0 + w + 80 <= LEFT + 24 * HOUR:
                front.append(_text(x0 + w + 4, y + 23, label, 11, fill=GREEN_DARK))
            else:
                front.append(_text(x0 - 4, y + 23, label, 11, fill=GREEN_DARK, anchor="end"))
    out += back
    for hour in range(25):
        x = LEFT + hour * HOUR
        strong = hour % 6 == 0
        out.append(
            f'<line x1="{x}" y1="{grid_top}" x2="{x}" y2="{grid_bottom}" '
            f'stroke="{"#9aa1ab" if strong else GRID}" stroke-width="{1 if strong else 0.6}"/>'
        )
        if hour % 3 == 0:
            out.append(_text(x, grid_top - 8, f"{hour:02d}:00", 11, fill="#555", anchor="middle"))
    out += front
    ly = grid_bottom + 32
    out.append(f'<rect x="20" y="{ly - 12}" width="22" height="14" fill="{GREEN}"/>')
    out.append(_text(48, ly, "allowed", 12))
    out.append(f'<rect x="120" y="{ly - 12}" width="22" height="14" fill="{GREY}"/>')
    out.append(_text(148, ly, "denied", 12))
    lx = 220
    for key in ("holiday", "makeup_workday"):
        letter, colour, _ = BADGES[key]
        out.append(f'<rect x="{lx}" y="{ly - 13}" width="16" height="16" rx="3" fill="{colour}"/>')
        out.append(_text(lx + 8, ly, letter, 11, fill="#fff", anchor="middle", weight="bold"))
        name = "public holiday" if key == "holiday" else "make-up working day"
        out.append(_text(lx + 22, ly, name, 12))
        lx += 140
    reasons = dict.fromkeys(r for d in schedule.days for s in d.spans for r in s.reasons)
    if reasons:
        out.append(_text(20, ly + 24, "denied for: " + ", ".join(reasons), 11, fill="#777"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _text(
    x: float,
    y: float,
    text: str,
    size: int,
    *,
    fill: str = "#222",
    anchor: str = "start",
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
        f'text-anchor="{anchor}" font-weight="{weight}">{escape(text)}</text>'
    )


# -- command ---------------------------------------------------------------------------------
def build_request(args: argparse.Namespace, policy: CompiledPolicy) -> dict[str, Any]:
    subject: dict[str, Any] = {"verified": args.verified}
    if args.birthdate:
        subject["birthdate"] = args.birthdate
    elif args.age is not None:
        subject["age"] = args.age
    request: dict[str, Any] = {"policy": policy.id, "subject": subject, "action": args.action}
    today = seconds(args.today, "--today") if args.today else args.today_seconds
    if today:
        request["usage"] = {"today_seconds": today}
    resource: dict[str, Any] = {}
    if args.category:
        resource["category"] = args.category
    action = policy.actions.get(args.action)
    if args.amount is not None:
        resource["amount"] = args.amount
    elif action is not None and action.spend:
        resource["amount"] = "1"
    if args.min_age is not None:
        resource["min_age"] = args.min_age
    if resource:
        request["resource"] = resource
    guardian: dict[str, Any] = {}
    if args.exempt:
        guardian["exemptions"] = list(args.exempt)
    if args.consent:
        guardian["consents"] = list(args.consent)
    if guardian:
        request["guardian"] = guardian
    return request


def cmd_schedule(args: argparse.Namespace) -> int:
    try:
        days = parse_week(args.week)
    except ValueError as err:
        print(f"youthmode: {err}", file=sys.stderr)
        return 2
    pid: str | None
    try:
        if args.policy is not None and Path(args.policy).suffix == ".toml":
            loaded = load_set([args.policy], args.policies)
            pid = loaded.primary[0]
            policies = loaded.policies
        else:
            loaded = load_set(args.policies)
            policies = loaded.policies
            pid = args.policy or Engine(policies.values()).default_policy
    except PolicyError as err:
        print("youthmode: cannot load policies:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if pid is None:
        print(
            f"youthmode: several policies and no default ({', '.join(sorted(policies))}); "
            "name one with --policy",
            file=sys.stderr,
        )
        return 2
    if pid not in policies:
        print(
            f"youthmode: unknown policy `{pid}` (loaded: {', '.join(sorted(policies))})",
            file=sys.stderr,
        )
        return 2
    engine = Engine(policies.values())
    policy = policies[pid]
    try:
        request = build_request(args, policy)
        schedule = compute(engine, policy, request, days)
    except RequestError as err:
        print(
            json.dumps({"errors": [p.to_dict() for p in err.problems]}, indent=2), file=sys.stderr
        )
        return 2
    except UsageError as err:
        print(f"youthmode: {err}", file=sys.stderr)
        return 2
    if args.svg:
        Path(args.svg).write_text(render_svg(schedule), encoding="utf-8")
    if args.format == "json":
        print(json.dumps(render_json(schedule), ensure_ascii=False, indent=2))
    elif not args.svg or args.format == "text":
        print(render_text(schedule))
    if args.svg:
        print(f"wrote {args.svg}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "schedule",
        help="the week's allowed and denied times for a policy, an age and an action",
        description="Decide the request at every window edge of every day of an ISO week and "
        "show when it is allowed: a text grid, JSON intervals (--format json) or an SVG "
        "picture (--svg FILE). Holidays (H) and make-up working days (M) are marked.",
    )
    cmd.add_argument(
        "--policy", help="policy id, or a policy file (default: the engine's default policy)"
    )
    cmd.add_argument(
        "--policies",
        nargs="+",
        default=["configs"],
        help="policy folders or files to load (default: configs)",
    )
    who = cmd.add_mutually_exclusive_group()
    who.add_argument("--age", type=int, help="age in whole years (default: unknown)")
    who.add_argument("--birthdate", help="birth date, YYYY-MM-DD")
    cmd.add_argument("--action", required=True, help="action from the catalog, e.g. game.play")
    cmd.add_argument("--week", help="ISO week, e.g. 2026-W07 (default: this week)")
    cmd.add_argument("--verified", action="store_true", help="the subject's identity is verified")
    cmd.add_argument(
        "--today", help="usage.today_seconds: seconds or a duration like 40m (as in explain)"
    )
    # The former spelling, kept so scripts keep working; `--today` is the one documented.
    cmd.add_argument("--today-seconds", type=int, default=0, help=argparse.SUPPRESS)
    cmd.add_argument("--category", help="the app's category (resource.category)")
    cmd.add_argument("--amount", help="the amount, for a spending action (default: 1)")
    cmd.add_argument("--min-age", type=int, help="the content's minimum age (resource.min_age)")
    cmd.add_argument("--exempt", action="append", help="a guardian waiver (code or rule id)")
    cmd.add_argument("--consent", action="append", help="a guardian consent")
    cmd.add_argument("--format", choices=["text", "json"], help="output (default: text)")
    cmd.add_argument("--svg", metavar="FILE", help="also write the week as an SVG picture")
    cmd.set_defaults(run=cmd_schedule)
