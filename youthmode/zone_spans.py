"""A zone's spans of one UTC offset, for the compiled request reader (youthmode/_reader.c): inside
one, the local wall time of a UTC second is a sum, where `astimezone` asks the zone each time.

`zone_span(zone, ts)` gives ``(start, end, offset)``: the UTC seconds ``[start, end)`` around
``ts`` in which ``zone`` is ``offset`` seconds ahead of UTC and no wall time repeats (fold is 0
throughout), or ``offset`` None where the reader must keep asking `astimezone`: a zone that
is not a `ZoneInfo` of a key, the years a daylight-saving rule governs past a zone's last
listed transition, and the hour after a backward change (its wall times come twice).

The transitions are read from the zone's own data, as `zoneinfo`'s pure-Python twin of the
class reads them (the C class keeps them hidden); each span is then checked against the zone
itself at its instant and at both ends, so a span the two implementations disagree on is
never used. tests/test_zone_spans.py compares the sums with `astimezone` around every
transition of several zones.
"""

from __future__ import annotations

import importlib
from bisect import bisect_right
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

FAR = 2**62  # past any instant a datetime can hold, and within a C long long
Span = tuple[int, int, int | None]
# starts[i] is where offsets[i] begins; shifts[i] is how long its repeated wall times last
Table = tuple[tuple[int, ...], tuple[int | None, ...], tuple[int, ...]]


def zone_span(zone: tzinfo, ts: int) -> Span:
    """The span of one offset around UTC second ``ts`` in ``zone`` (see the module)."""
    if type(zone) is timezone:
        return -FAR, FAR, _seconds(zone.utcoffset(None))
    table = _table(zone.key) if type(zone) is ZoneInfo and zone.key is not None else None
    if table is None:
        return -FAR, FAR, None
    starts, offsets, shifts = table
    i = bisect_right(starts, ts) - 1
    start, end = starts[i], starts[i + 1] if i + 1 < len(starts) else FAR
    offset = offsets[i]
    if offset is None or ts < start + shifts[i]:
        return start, start + shifts[i] if offset is not None else end, None
    span = (start + shifts[i], end, offset)
    return span if _vouched(zone, ts, span) else (ts, ts + 1, None)


@cache
def _table(key: str) -> Table | None:
    """A zone's transitions as `zoneinfo._zoneinfo` reads its file; None where it cannot."""
    try:
        pure: Any = importlib.import_module("zoneinfo._zoneinfo")
        data = pure.ZoneInfo.no_cache(key)
        fixed = pure._ttinfo
        trans, infos = tuple(data._trans_utc), tuple(data._ttinfos)
        before, after = data._tti_before, data._tz_after
        if len(trans) != len(infos):
            return None
        offsets = [_seconds(before.utcoff)] if trans else []
        offsets += [_seconds(info.utcoff) for info in infos]
        last = _seconds(after.utcoff) if isinstance(after, fixed) else None
        if not trans:
            offsets = [last]
        elif last != offsets[-1]:
            offsets[-1] = None  # a rule, or a footer unlike the last listed offset: ask
    except Exception:  # a Python whose zoneinfo keeps them otherwise: no spans, no harm
        return None
    starts = (-FAR, *trans) if trans else (-FAR,)
    shifts = [0]
    for previous, offset in pairwise(offsets):
        shift = 0 if previous is None or offset is None else max(0, previous - offset)
        shifts.append(shift)
    return starts, tuple(offsets), tuple(shifts)


def _seconds(offset: timedelta | None) -> int | None:
    if offset is None or offset % timedelta(seconds=1):
        return None
    return int(offset.total_seconds())


def _vouched(zone: tzinfo, ts: int, span: Span) -> bool:
    """Whether the zone itself gives ``span``'s offset, with fold 0, at ``ts`` and both ends."""
    start, end, offset = span
    for second in (ts, start, end - 1):
        if second in (-FAR, FAR - 1):
            continue
        try:
            local = datetime.fromtimestamp(second, UTC).astimezone(zone)
        except (OverflowError, ValueError, OSError):
            continue  # beyond datetime's years: the reader never sums there
        found = local.utcoffset()
        if local.fold or found is None or found != timedelta(seconds=offset or 0):
            return False
    return offset is not None
