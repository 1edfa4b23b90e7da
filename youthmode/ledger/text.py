"""What text the ledger stores: strings that can be written back as UTF-8.

A lone surrogate ("\\ud800" in JSON) decodes into a Python str but cannot be encoded as UTF-8;
stored, it would make every later answer about the subject fail. It is refused at the door.
"""

from __future__ import annotations

from typing import Any


def is_clean_text(value: Any, limit: int = 200) -> bool:
    """A string that can be stored and sent back as UTF-8: no lone surrogates, within limit."""
    if not isinstance(value, str) or len(value) > limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
