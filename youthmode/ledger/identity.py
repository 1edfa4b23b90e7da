"""A subject's verified identity, as a real-name check stored it (the NPPA flow, nppa/).

One document per subject, ``identity``: ``{"verified": true, "source": "nppa", "pi": ...,
"birthdate": "2012-05-01", "verified_at": ...}`` plus the check history. A decision about a
subject whose identity is verified counts as `verified` without the caller saying so, and
takes the stored birthdate when the request gives neither birthdate nor age. The ID number
itself is never stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from youthmode.model import Subject

IDENTITY_KEY = "identity"


def verified_subject(subject: Subject, identity: Any) -> Subject | None:
    """``subject`` with what a verified ``identity`` adds; None when it adds nothing."""
    if not isinstance(identity, dict) or identity.get("verified") is not True:
        return None
    updates: dict[str, Any] = {}
    if not subject.verified:
        updates["verified"] = True
    stored = identity.get("birthdate")
    if subject.birthdate is None and subject.age is None and isinstance(stored, str):
        updates["birthdate"] = date.fromisoformat(stored)
    return subject.model_copy(update=updates) if updates else None
