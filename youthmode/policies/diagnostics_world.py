"""The wordings of the world packs' rule-kind checks (`kind_checks.py`): more of the catalogue
of `diagnostics.py` (full at its size limit), with the codes it defines."""

from __future__ import annotations

from youthmode.policies.diagnostics import Message

WAIVABLE_MINIMUM_AGE = Message(
    "invalid_value",
    "rule `{id}` of kind `minimum_age` cannot be waivable: no guardian lifts a minimum age",
    hint="remove `waivable = true`",
)
REMINDER_NEEDS_AFTER_OR_FROM = Message(
    "missing_key",
    "rule `{id}` of kind `rest_reminder` needs `after` or `from`",
    hint='e.g. from = "30m" (due from 30 minutes on) or after = "30m" (more than 30 minutes)',
)
REMINDER_AFTER_AND_FROM = Message(
    "invalid_value",
    "rule `{id}` has both `after` and `from`: give one of them",
    hint="`after` is due when the session is longer; `from` when it is that long or longer",
)

# -- issue 15: quiet hours and use warnings (kinds_zoned.py) ----------------------------------
UNKNOWN_MONTH = Message(
    "invalid_value",
    "`{month}` is not a month or a month range",
    hint='a month is jan, feb, ... dec; a range is two of them, e.g. "sep-may" (wraps the year)',
)
MONTHS_BESIDE_WINDOWS = Message(
    "invalid_value",
    "`months` beside `windows`: give each window its own `months`",
    hint="move `months` into each [[rules.windows]] table",
)
WARNING_NEEDS_WHEN = Message(
    "missing_key",
    "rule `{id}` of kind `use_warning` needs `first_access = true` or `after`",
    hint='e.g. first_access = true, after = "3h", every = "1h"',
)
EVERY_WITHOUT_AFTER = Message(
    "missing_key",
    "rule `{id}` has `every` but no `after`: the repeats count from `after`",
    hint='e.g. after = "3h" with every = "1h"',
)
