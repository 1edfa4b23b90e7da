"""Interval arithmetic for active use: one minute per minute, however many devices.

A subject's use on a local day is kept as the union of its intervals, so overlapping reports
from two devices (or a retried batch with new ids) count once. Intervals that cross local
midnight are split so each day gets its own part. Times are epoch seconds, half-open [s, e).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint, non-touching intervals."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def total(intervals: Iterable[Interval], until: int | None = None) -> int:
    """Seconds covered by disjoint ``intervals`` (only the part before ``until``, if given)."""
    seconds = 0
    for start, end in intervals:
        if until is not None:
            end = min(end, until)
        if end > start:
            seconds += end - start
    return seconds


def local_midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp())


def split_days(start: int, end: int, zone: ZoneInfo) -> list[tuple[date, Interval]]:
    """``[start, end)`` cut at each local midnight of ``zone``."""
    parts = []
    day = datetime.fromtimestamp(start, zone).date()
    while start < end:
        boundary = local_midnight(day + timedelta(days=1), zone)
        parts.append((day, (start, min(end, boundary))))
        start = boundary
        day += timedelta(days=1)
    return parts


def session_seconds(intervals: list[Interval], at: int, gap: int) -> int:
    """Active seconds of the session going on at ``at``; 0 when the last use ended ``gap`` ago.

    A session is a run of use with no break of ``gap`` seconds or more.
    """
    past = [(s, min(e, at)) for s, e in intervals if s < at]
    if not past or at - past[-1][1] >= gap:
        return 0
    seconds, previous_start = 0, None
    for start, end in reversed(past):
        if previous_start is not None and previous_start - end >= gap:
            break
        seconds += end - start
        previous_start = start
    return seconds


def coalesce(intervals: list[Interval], limit: int) -> list[Interval]:
    """At most ``limit`` disjoint intervals: the shortest gaps are closed first.

    Closing a gap counts it as use, so a day's total can only grow: a document stays bounded
    (a flood of one-second events cannot make every decision slow) and errs toward
    protection, never toward more time.
    """
    if len(intervals) <= limit:
        return intervals
    gaps = sorted(range(1, len(intervals)), key=lambda i: intervals[i][0] - intervals[i - 1][1])
    closed = set(gaps[: len(intervals) - limit])
    out: list[Interval] = [intervals[0]]
    for i in range(1, len(intervals)):
        if i in closed:
            out[-1] = (out[-1][0], intervals[i][1])
        else:
            out.append(intervals[i])
    return out
