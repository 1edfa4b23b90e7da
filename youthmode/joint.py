"""Several timelines that must all allow: the ages of an age range, or a policy and its floors.

CONTRACT section 6 decides a range of possible ages, and a policy together with the packs that
bind its subject's jurisdiction, by the most protective answer: deny if any line denies, the
least `remaining_seconds`, and the earliest instant at which every line allows.

The first instant some line denies is the least of each line's own first denial, so
`remaining_seconds` needs no joint walk. The first instant all allow is not the latest of each
line's own next allow (one may allow, then deny again), so `next_allowed` walks: at an instant
where some lines deny, none can allow before its own next allow, so jump to the latest of those
and look again. Each jump moves forward, and the walk stops at the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence

from youthmode.facts import Moment
from youthmode.policies.rules import CompiledRule
from youthmode.timeline import NEXT_ALLOWED_HORIZON, Timeline


class JointTimeline:
    """The timelines of one request that must all allow, in the order their reasons count."""

    def __init__(self, lines: Sequence[Timeline]) -> None:
        if not lines:
            raise ValueError("a joint timeline needs at least one line")
        self.lines = tuple(lines)
        self.at_ts = lines[0].at_ts

    def start(self) -> list[Moment]:
        return [line.start() for line in self.lines]

    def denials(self, moments: Sequence[Moment]) -> list[list[CompiledRule]]:
        """Each line's denying rules at its moment (an empty list: that line allows)."""
        return [line.denials(m) for line, m in zip(self.lines, moments, strict=True)]

    def remaining_seconds(self, moments: Sequence[Moment]) -> int | None:
        """Seconds of continued use until the first line denies (None: none does in 48 h)."""
        found = [
            s
            for line, m in zip(self.lines, moments, strict=True)
            if (s := line.remaining_seconds(m)) is not None
        ]
        return min(found) if found else None

    def next_allowed(self, moments: Sequence[Moment]) -> int | None:
        """The first instant within 14 days of `at` at which every line allows."""
        limit = self.at_ts + NEXT_ALLOWED_HORIZON
        current, moved = list(moments), False
        while True:
            latest = None
            for line, m in zip(self.lines, current, strict=True):
                if line.denials(m):
                    found = line.next_allowed(m)
                    if found is None:
                        return None  # this line never allows within the horizon
                    latest = found if latest is None else max(latest, found)
            if latest is None:
                return current[0].ts if moved else None  # None: every line allows already
            if latest > limit:
                return None
            current, moved = [line.moment(latest) for line in self.lines], True
