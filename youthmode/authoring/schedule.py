"""`youthmode schedule`: when a policy allows an action for a subject, over one ISO week.

The decision can only change at a window edge of the policy or at midnight, so each day is cut
at those edges and decided once per slice with the engine itself: the intervals are exact to
the second. Output: a text grid (half-hour cells) and JSON intervals here, an SVG for reviews in
`youthmode.authoring.schedule_svg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from youthmode.calendar import WEEKDAYS
from youthmode.engine import Engine
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
    """The week as a text grid: one row of half-hour cells per day, the allowed spans, a key."""
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
        allowed = ", ".join(span_text(s) for s in d.allowed) or "—"
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


def span_text(span: Span) -> str:
    """`20:00–21:00`."""
    return f"{format_time_of_day(span.start)}–{format_time_of_day(span.end)}"


# -- json ------------------------------------------------------------------------------------
def render_json(schedule: Schedule) -> dict[str, Any]:
    """The week as JSON: per day, its type, band, allowed intervals and denied ones with why."""
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


# -- the request -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subject:
    """Who the schedule is for, and what the request carries besides the time."""

    age: int | None = None
    birthdate: str | None = None
    verified: bool = False
    today_seconds: int | None = None
    category: str | None = None
    amount: str | None = None
    min_age: int | None = None
    exemptions: tuple[str, ...] = ()
    consents: tuple[str, ...] = ()


def schedule_request(policy: CompiledPolicy, action: str, who: Subject) -> dict[str, Any]:
    """The request decided at every slice (without `at`): a birthdate wins over an age, and a
    spending action gets an amount of 1 unless one is given."""
    subject: dict[str, Any] = {"verified": who.verified}
    if who.birthdate:
        subject["birthdate"] = who.birthdate
    elif who.age is not None:
        subject["age"] = who.age
    request: dict[str, Any] = {"policy": policy.id, "subject": subject, "action": action}
    if who.today_seconds:
        request["usage"] = {"today_seconds": who.today_seconds}
    resource: dict[str, Any] = {}
    if who.category:
        resource["category"] = who.category
    spec = policy.actions.get(action)
    if who.amount is not None:
        resource["amount"] = who.amount
    elif spec is not None and spec.spend:
        resource["amount"] = "1"
    if who.min_age is not None:
        resource["min_age"] = who.min_age
    if resource:
        request["resource"] = resource
    guardian: dict[str, Any] = {}
    if who.exemptions:
        guardian["exemptions"] = list(who.exemptions)
    if who.consents:
        guardian["consents"] = list(who.consents)
    if guardian:
        request["guardian"] = guardian
    return request
