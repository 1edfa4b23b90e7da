"""The ledger's settings and the limits that keep per-subject documents bounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DAY_DOC_DAYS = 40  # usage documents kept, in days
RECORD_DAYS = 70  # purchases and orders kept, in days
# Per-subject documents stay bounded whatever a caller sends (docs/operations.md).
MAX_EVENTS_PER_DAY = 20_000  # event ids remembered for one local day
MAX_INTERVALS_PER_DAY = 1_000  # disjoint intervals kept for one day (shortest gaps closed)
MAX_APPS_PER_DAY = 64  # apps with their own use document on one day (more: 409 too_many_apps)


@dataclass(frozen=True)
class LedgerSettings:
    session_gap: int = 600  # a break this long ends a session (seconds)
    max_skew: int = 120  # how far in the future a write may be dated (seconds)
    hold_seconds: int = 900  # reservations expire after this
    request_ttl: int = 3600  # unanswered ask-for-more-time requests expire after this
    max_event_seconds: int = 86400
    accept_past_days: int = 30  # how far back a ledger write may be dated (days)

    def __post_init__(self) -> None:
        # A record is accepted only while the ids that make it idempotent are still kept:
        # usage ids live DAY_DOC_DAYS, purchase and order ids RECORD_DAYS. Two days of margin
        # cover a local day that starts before the UTC one.
        if not 1 <= self.accept_past_days <= DAY_DOC_DAYS - 2:
            raise ValueError(
                f"accept_past_days must be from 1 to {DAY_DOC_DAYS - 2} (usage ids are kept "
                f"{DAY_DOC_DAYS} days), not {self.accept_past_days}"
            )
        if not 0 <= self.max_skew <= 3600:
            raise ValueError(f"max_skew must be from 0 to 3600 seconds, not {self.max_skew}")
        if not 60 <= self.hold_seconds <= 86400:
            raise ValueError(f"hold_seconds must be from 60 to 86400, not {self.hold_seconds}")
        if not 60 <= self.session_gap <= 86400:
            raise ValueError(f"session_gap must be from 60 to 86400, not {self.session_gap}")

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest instants a ledger write may be dated at."""
        return (
            now - timedelta(days=self.accept_past_days),
            now + timedelta(seconds=self.max_skew),
        )
