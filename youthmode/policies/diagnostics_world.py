"""The wordings of the world packs' rule-kind checks (`kind_checks.py`) and of the consent-age
table (`consent_ages.py`): more of the catalogue of `diagnostics.py` (full at its size limit),
with the codes it defines (each registered there or in `diagnostics_meta.py`)."""

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

# -- the consent-age table, data/consent-ages.toml (consent_ages.py) ------------------------------
CONSENT_AGE_KEYS = "an entry has age, source, checked, verified and note; the file has [ages.XX]"
CONSENT_AGE_UNKNOWN_KEY = Message("unknown_key", "unknown key `{key}`", hint=CONSENT_AGE_KEYS)
CONSENT_AGE_NOT_TABLE = Message(
    "invalid_type", "`{key}` must be a table, not {found}", hint="e.g. [ages.FR] with age = 15"
)
CONSENT_AGE_VALUE = Message(
    "invalid_value",
    "the consent age of `{code}` must be a whole number from 13 to 18, not {value}",
    hint="GDPR art. 8: 16, or 13, 14 or 15 where a member state chose so",
)
CONSENT_AGE_DATE = Message(
    "invalid_date", "`checked` of `{code}` must be a date, not {value}", hint="checked = 2026-12-01"
)
CONSENT_AGE_VERIFIED = Message(
    "invalid_type", "`verified` of `{code}` must be true or false, not {value}"
)

# -- a `require_consent` rule bounded by age (consent_limit.py) ----------------------------------
CONSENT_FALLBACK_NEEDED = Message(
    "missing_key",
    "rule `{id}` reads the digital age of consent but has no `fallback_age`: the age for a "
    "subject whose jurisdiction is absent or not in the table",
    hint="e.g. fallback_age = 16 (GDPR art. 8's default)",
)
CONSENT_ONLY_WITH_TABLE = Message(
    "invalid_value",
    '`{key}` of rule `{id}` counts only with below_age = "consent_age"',
    hint='remove `{key}`, or set below_age = "consent_age"',
)
CONSENT_BELOW_AGE_TEXT = Message(
    "invalid_value",
    '`below_age` of rule `{id}` must be an age from 1 to 150 or "consent_age", not `{value}`',
    hint="below_age = \"consent_age\" (the table's age for the subject's jurisdiction) or 13",
)
CONSENT_BELOW_AGE_TYPE = Message(
    "invalid_value",
    '`below_age` must be an age from 1 to 150 or "consent_age", not `{value}`',
)
CONSENT_NO_TABLE = Message(
    "invalid_value",
    "rule `{id}` reads the digital age of consent, but there is no table at `{path}` (nor one "
    "shipped with youthmode)",
    hint="put the consent-age table (docs/world.md#consent-ages) beside the pack, in data/",
)
CONSENT_BAD_TABLE = Message(
    "invalid_value",
    "rule `{id}` reads the consent-age table `{path}`, which has {count}: {first}",
    hint="fix the table (youthmode check on its folder lists every problem)",
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
