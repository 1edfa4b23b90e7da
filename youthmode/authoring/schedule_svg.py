"""`youthmode schedule --svg`: a week's schedule as an SVG picture for reviews: one row per day,
allowed spans in green over a grey day, holidays (H) and make-up working days (M) marked."""

from __future__ import annotations

from xml.sax.saxutils import escape

from youthmode.authoring.schedule import TYPE_NAMES, DaySchedule, Schedule, Span, span_text
from youthmode.calendar import WEEKDAYS

SVG_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
LEFT, HOUR, ROW, TOP = 250, 30, 36, 96
GREEN, GREEN_DARK, GREY, GRID = "#2e9d5b", "#1f6f40", "#e9ecf0", "#c7ccd3"
BADGES = {"holiday": ("H", "#c62828", "#fdecec"), "makeup_workday": ("M", "#b26a00", "#fff4e0")}
WIDTH = LEFT + 24 * HOUR + 40
HEIGHT = TOP + 7 * ROW + 70
GRID_BOTTOM = TOP + 7 * ROW


def render_svg(schedule: Schedule) -> str:
    """The picture: title, day rows (backgrounds under the hour lines, labels and spans over
    them), then the legend."""
    back: list[str] = []
    front: list[str] = []
    for i, d in enumerate(schedule.days):
        y = TOP + i * ROW
        _day_row(d, y, back, front)
    out = [*_title(schedule), *back, *_hour_lines(), *front, *_legend(schedule)]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _title(schedule: Schedule) -> list[str]:
    p = schedule.policy
    first, last = schedule.days[0].day, schedule.days[-1].day
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{SVG_FONT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
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


def _day_row(d: DaySchedule, y: int, back: list[str], front: list[str]) -> None:
    """One day: its band of colour (holidays, make-up days), its label and its spans."""
    badge = BADGES.get(d.day_type)
    if badge:
        back.append(f'<rect x="10" y="{y}" width="{WIDTH - 20}" height="{ROW}" fill="{badge[2]}"/>')
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
        front.append(f'<rect x="118" y="{y + 9}" width="18" height="18" rx="3" fill="{colour}"/>')
        front.append(_text(127, y + 23, letter, 12, fill="#fff", anchor="middle", weight="bold"))
        front.append(_text(142, y + 23, TYPE_NAMES[d.day_type], 11, fill=colour))
    else:
        front.append(_text(142, y + 23, TYPE_NAMES.get(d.day_type, d.day_type), 11, fill="#777"))
    back.append(
        f'<rect x="{LEFT}" y="{y + 6}" width="{24 * HOUR}" height="{ROW - 12}" fill="{GREY}"/>'
    )
    for s in d.allowed:
        front += _span(s, y)


def _span(s: Span, y: int) -> list[str]:
    """An allowed span, with its times inside it, after it, or before it where they fit."""
    x0 = LEFT + s.start * HOUR / 3600
    w = (s.end - s.start) * HOUR / 3600
    label = span_text(s)
    out = [
        f'<rect x="{x0:.1f}" y="{y + 6}" width="{w:.1f}" height="{ROW - 12}" '
        f'fill="{GREEN}"><title>{escape(label)}</title></rect>'
    ]
    if w >= 78:
        out.append(_text(x0 + w / 2, y + 23, label, 11, fill="#fff", anchor="middle"))
    elif x0 + w + 80 <= LEFT + 24 * HOUR:
        out.append(_text(x0 + w + 4, y + 23, label, 11, fill=GREEN_DARK))
    else:
        out.append(_text(x0 - 4, y + 23, label, 11, fill=GREEN_DARK, anchor="end"))
    return out


def _hour_lines() -> list[str]:
    out = []
    for hour in range(25):
        x = LEFT + hour * HOUR
        strong = hour % 6 == 0
        out.append(
            f'<line x1="{x}" y1="{TOP}" x2="{x}" y2="{GRID_BOTTOM}" '
            f'stroke="{"#9aa1ab" if strong else GRID}" stroke-width="{1 if strong else 0.6}"/>'
        )
        if hour % 3 == 0:
            out.append(_text(x, TOP - 8, f"{hour:02d}:00", 11, fill="#555", anchor="middle"))
    return out


def _legend(schedule: Schedule) -> list[str]:
    ly = GRID_BOTTOM + 32
    out = [
        f'<rect x="20" y="{ly - 12}" width="22" height="14" fill="{GREEN}"/>',
        _text(48, ly, "allowed", 12),
        f'<rect x="120" y="{ly - 12}" width="22" height="14" fill="{GREY}"/>',
        _text(148, ly, "denied", 12),
    ]
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
    return out


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
