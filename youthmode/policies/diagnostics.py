"""Every policy problem, named once: its code, message template and hint.

A `Code` is what `youthmode check` prints and `docs/errors/<code>.md` explains: its name, the
one-line meaning of the docs index, and whether it is an error or a warning. A `Message` is one
wording of a code (named by its code, which must be in `CODES`), with `{placeholders}` for the
values a call site passes:

    check.add(src, ("bands", i, "from"), diagnostics.BAND_GAP_AGES(low=3, high=7, band="teen"))

gives a `Finding` (code, message, hint, severity); the stage that found it adds where it is
(`Finding.at` or `SourceFile.problem`). A hint is a template too, or `None` for none, or
`COMPUTED` when the call site works it out (did-you-mean, a list of choices) and passes it as
``hint=``. `CODES` lists every code: `tests/test_cli_errors_docs.py` checks each has its page.
"""

from __future__ import annotations

from youthmode.policies.catalogue import COMPUTED, Code, Finding, Hint, Message, register
from youthmode.policies.diagnostics_meta import META_CODES

__all__ = ["COMPUTED", "Code", "Finding", "Hint", "Message"]

# -- the codes, in the order of the docs index (docs/errors/README.md) -----------------------------
CODES: tuple[Code, ...] = (
    # files and syntax
    Code("no_policies", "no `*.toml` policy files in the folder or files given"),
    Code("unreadable_file", "a file could not be read"),
    Code("invalid_encoding", "a file is not UTF-8 text"),
    Code("toml_syntax", "not valid TOML, e.g. a time without quotes, or a key written twice"),
    # keys and values
    Code("unknown_key", "a key the table does not have (often a typo)"),
    Code("missing_key", "a required key or table is missing"),
    Code("unknown_rule_kind", "`kind` is not one of the nineteen rule kinds"),
    Code("invalid_type", "a value of the wrong type, e.g. a number in quotes"),
    Code("invalid_value", "a value out of range or not one of the choices"),
    Code("invalid_duration", "not a duration"),
    Code("invalid_time", "not a time of day, or a window starting at 24:00"),
    Code(
        "invalid_amount",
        "not a valid amount: an unquoted decimal, negative, too many decimal places",
    ),
    Code("invalid_date", "not a date or date range"),
    # policies and extends
    Code("invalid_id", "a policy, band or rule id breaks the id rules, or a reserved name is used"),
    Code("duplicate_policy_id", "two files define the same policy id"),
    Code("duplicate_default", "more than one policy sets `default = true`"),
    Code("unknown_policy", "`extends` names a policy that is not loaded"),
    Code("extends_cycle", "`extends` leads back to the same policy"),
    Code("invalid_timezone", "`timezone` is not an IANA time zone"),
    Code("unknown_calendar", "no holiday calendar for the `calendar` country code"),
    # bands, groups, catalog
    Code("bands_redefined", "a pack that extends another has its own `[[bands]]`"),
    Code("duplicate_band", "two bands have the same id"),
    Code("invalid_band_range", "a band's `to` is not after its `from`"),
    Code("band_gap", "some ages are in no band (including: the oldest band has a `to`)"),
    Code("band_overlap", "some ages are in two bands"),
    Code("duplicate_group", "a group the parent already defines"),
    Code("unknown_band", "a rule or group names a band or group that does not exist"),
    Code("group_cycle", "a group names itself, directly or through other groups"),
    Code("invalid_action_name", "an action name that is not dotted lowercase words"),
    Code("duplicate_action", "an action the parent's catalog already has"),
    Code(
        "unsafe_store_error_mode",
        "a spending action set to be allowed while the usage ledger is down",
    ),
    Code("invalid_tag", "a tag that is not lowercase `snake_case`"),
    # rules
    Code(
        "duplicate_rule_id",
        "two rules with one id, or an inherited rule's id without `override = true`",
    ),
    Code("nothing_to_override", "`override = true`, but no inherited rule has that id"),
    Code(
        "loosened_rule",
        "an override denies less than the inherited rule, and `loosens` does not say why",
    ),
    Code("loosened_floor", "an override denies less than a rule of a floor pack"),
    Code("invalid_reason_code", "`reason` is not lowercase `snake_case`"),
    Code("rule_without_actions", "a rule with neither `actions` nor `tags`"),
    Code("unknown_action", "an action (or `prefix.*`) that matches nothing in the catalog"),
    Code("unknown_tag", "a tag no catalog action has"),
    Code("cap_on_non_spending_action", "a `spending_cap` covers an action without `spend`"),
    Code("unknown_day_type", "a `limit_by_day` key that is not a day type"),
    Code(
        "invalid_window", "both or neither of `between` and `windows`, or `days` beside `windows`"
    ),
    Code("empty_window", "a window from a time to the same time, or `00:00`–`24:00`"),
    Code("unknown_day", "a `days` / `except_days` entry that is not a day selector"),
    # warnings
    Code(
        "calendar_unofficial_year",
        "no official holiday schedule for this year or next (a warning)",
        "warning",
    ),
    # policy-level keys and rules in force (diagnostics_meta.py)
    *META_CODES,
)
BY_CODE: dict[str, Code] = register(CODES)

_VALID_ID = "use lowercase letters, digits, `-`, `_` and `.`"
_DETAIL = "{detail}"  # a message worded elsewhere: by tomllib, pydantic or `units`

# -- stage 1: files, syntax, tables (loader.py, source.py) ---------------------------------------
NO_POLICIES = Message("no_policies", "no policy files (*.toml) found in `{named}`")
UNREADABLE_FILE = Message("unreadable_file", "cannot read `{name}`: {reason}")
INVALID_ENCODING = Message(
    "invalid_encoding",
    "file is not UTF-8: byte 0x{byte:02x} is not valid here ({reason})",
    hint="save the file as UTF-8",
)
TOML_SYNTAX = Message("toml_syntax", _DETAIL, hint=COMPUTED)
TOML_TOO_DEEP = Message(
    "toml_syntax",
    "values are nested too deeply to read (arrays or tables inside each other)",
    hint="a policy needs a few levels of nesting; is this the file you meant?",
)
UNKNOWN_KEY = Message("unknown_key", "unknown key `{key}`", hint=COMPUTED)
MISSING_KEY = Message("missing_key", "missing required key `{key}`", hint=COMPUTED)
MISSING_RULE_KIND = Message("missing_key", "rule needs a `kind`", hint="kinds: {kinds}")
UNKNOWN_RULE_KIND = Message("unknown_rule_kind", "unknown rule kind `{kind}`", hint=COMPUTED)
INVALID_TYPE = Message("invalid_type", "`{key}` must be {expected}, not {found}")
INVALID_TYPE_QUOTED_NUMBER = Message(
    "invalid_type",
    "`{key}` must be {expected}, not {found}",
    hint="write the number without quotes",
)
INVALID_VALUE = Message("invalid_value", _DETAIL)
NOT_A_CHOICE = Message(
    "invalid_value", "`{value}` is not allowed for `{key}`; expected {expected}", hint=COMPUTED
)
WRONG_LENGTH = Message("invalid_value", "`{key}` needs {bound} {wanted} items, not {items}")
BETWEEN_LENGTH = Message(
    "invalid_value",
    "`between` needs a start and an end time, not {items}",
    hint='e.g. between = ["22:00", "06:00"]',
)
EMPTY_TEXT = Message("invalid_value", "`{key}` must not be empty")
OUT_OF_RANGE = Message("invalid_value", "`{key}` must be {relation} {bound}, not {value}")
INVALID_DATE = Message(
    "invalid_date",
    "`{value}` is not a date or a date range",
    hint='write 2027-01-01 or "2027-02-05..2027-02-11"',
)
# The hint of `missing_key` for a key, and the example of an `id` by table.
MISSING_KEY_HINTS = {
    "policy": 'start the file with a [policy] table, e.g. [policy] id = "acme-kids"',
    "message": 'e.g. message = { zh-CN = "…", en = "…" }',
    "zh-CN": "a message is given in both `zh-CN` and `en`",
    "en": "a message is given in both `zh-CN` and `en`",
    "from": "the first age in the band, e.g. from = 8",
    "limit": 'e.g. limit = "1h"',
    "period": 'one of "transaction", "day" or "month"',
    "max": 'e.g. max = "50.00"',
    "after": 'e.g. after = "30m"',
    "before": 'e.g. before = "5m"',
    "between": 'e.g. between = ["20:00", "21:00"]',
}
ID_EXAMPLES = {"policy": '"acme-kids"', "bands": '"8-12"', "rules": '"curfew"'}

# A value `units` or `INVALID_DATE` rejects keeps its message and hint: `units` words them
# for requests too.
UNIT_ERRORS: dict[str, Message] = {
    code: Message(code, _DETAIL, hint=COMPUTED)
    for code in ("invalid_duration", "invalid_time", "invalid_amount", "invalid_date")
}

# -- stage 2: a policy and its `extends` (resolve.py) --------------------------------------------
INVALID_POLICY_ID = Message("invalid_id", "policy id `{id}` is not valid", hint=_VALID_ID)
DUPLICATE_POLICY_ID = Message(
    "duplicate_policy_id",
    "policy `{id}` is also defined in `{other}`",
    hint="give each policy file its own `id`",
)
DUPLICATE_DEFAULT = Message(
    "duplicate_default",
    "policies `{first}` and `{other}` are both marked `default`",
    hint="set `default = true` on one policy only",
)
EXTENDS_CYCLE = Message(
    "extends_cycle",
    "`extends` makes a cycle: {cycle}",
    hint="a policy cannot extend itself, directly or through others",
)
UNKNOWN_POLICY = Message(
    "unknown_policy", "policy `{id}` extends unknown policy `{parent}`", hint=COMPUTED
)
MISSING_VERSION = Message(
    "missing_key",
    "missing required key `version`",
    hint='give the policy a version, e.g. version = "2026.1"',
)
MISSING_TIMEZONE = Message(
    "missing_key", "missing required key `timezone`", hint='e.g. timezone = "Asia/Shanghai"'
)
# Names people write that the closest spelling would get wrong (Asia/Brunei, Puerto Rico).
ZONE_ALIASES = {
    "Asia/Beijing": "did you mean `Asia/Shanghai`? (China's zone is named after Shanghai)",
    "Beijing": "did you mean `Asia/Shanghai`?",
    "China": "did you mean `Asia/Shanghai`?",
}
COUNTRY_ALIASES = {"PRC": "did you mean `CN`?", "CHINA": "did you mean `CN`?"}
INVALID_TIMEZONE = Message("invalid_timezone", "`{name}` is not an IANA time zone", hint=COMPUTED)
UNKNOWN_CALENDAR = Message(
    "unknown_calendar", "no holiday calendar for country `{country}`", hint=COMPUTED
)
INVALID_CURRENCY = Message(
    "invalid_value", "currency `{currency}` is not an ISO 4217 code", hint='e.g. "CNY"'
)
BANDS_REDEFINED = Message(
    "bands_redefined",
    "bands are inherited from `{parent}` and cannot be redefined",
    hint="refer to the parent's bands or add groups of them",
)
DUPLICATE_GROUP = Message(
    "duplicate_group",
    "group `{name}` is already defined by `{parent}`",
    hint="choose another name for the group",
)
DUPLICATE_ACTION = Message(
    "duplicate_action",
    "action `{name}` is already in the catalog of `{parent}`",
    hint="an inherited action cannot be redefined; use it or choose another name",
)
DUPLICATE_RULE_ID = Message(
    "duplicate_rule_id",
    "rule id `{id}` is used twice in this policy",
    hint="give each rule its own id",
)
INHERITED_RULE_ID = Message(
    "duplicate_rule_id",
    "rule `{id}` is already defined by `{origin}`",
    # Not "set `override = true`": that is how a pack loosened its baseline unnoticed (issue 14).
    hint="give the new rule its own id: it then applies as well as the inherited one",
)
# The hint of `nothing_to_override` when no inherited rule id is close.
NOT_INHERITED = "`{parent}` has no rule `{id}`; remove `override`"
NO_PARENT = "`override` replaces a rule of the policy named in `extends`"
LOOSENED_RULE = Message(
    "loosened_rule",
    "rule `{id}` loosens the rule of `{origin}` it overrides: {what}",
    hint="keep the inherited rule and add a stricter one with its own id, or say why: "
    'loosens = "..."',
)
LOOSENED_FLOOR = Message(
    "loosened_floor",
    "rule `{id}` loosens the rule of floor pack `{origin}` it overrides: {what}",
    hint="a floor pack's rules can be kept or made stricter, never loosened (not even with "
    "`loosens`)",
)
NOTHING_TO_OVERRIDE = Message(
    "nothing_to_override",
    "rule `{id}` sets `override` but no inherited rule has that id",
    hint=COMPUTED,
)

# -- stage 2: cross-checks of a file's tables (validate.py) --------------------------------------
MISSING_BANDS = Message(
    "missing_key",
    "a policy needs `[[bands]]` covering every age",
    hint='start with [[bands]] id = "adult" from = 0',
)
RESERVED_BAND_ID = Message(
    "invalid_id",
    "band id `{id}` is reserved",
    hint="the band `unknown` (age not known) always exists; choose another id",
)
INVALID_BAND_ID = Message("invalid_id", "band id `{id}` is not valid", hint=_VALID_ID)
DUPLICATE_BAND = Message(
    "duplicate_band", "band `{id}` is defined twice", hint="give each band its own id"
)
INVALID_BAND_RANGE = Message(
    "invalid_band_range",
    "band `{id}` must end after it starts: `to` is {to}, `from` is {from_}",
    hint="`to` is the first age after the band: ages 8 to 11 are from = 8, to = 12",
)
BAND_GAP_AGE = Message(
    "band_gap",
    "no band covers age {low}",
    hint="start band `{band}` at {low} or add a band for the gap",
)
BAND_GAP_AGES = Message(
    "band_gap",
    "no band covers ages {low} to {high}",
    hint="start band `{band}` at {low} or add a band for the gap",
)
BAND_GAP_ABOVE = Message(
    "band_gap",
    "no band covers ages {low} and over",
    hint="leave out `to` on the oldest band",
)
BAND_OVERLAP = Message(
    "band_overlap",
    "band `{id}` overlaps another band at age {age}",
    hint="bands are half-open ranges [from, to): each starts where the last ends",
)
GROUP_NAMED_LIKE_A_BAND = Message(
    "invalid_id",
    "group `{name}` has the name of a band",
    hint="choose another name for the group",
)
_GROUP_CYCLE_HINT = "a group can name bands and other groups, but not itself"
GROUP_INCLUDES_ITSELF = Message(
    "group_cycle", "group `{name}` includes itself", hint=_GROUP_CYCLE_HINT
)
GROUP_CYCLE = Message("group_cycle", "groups include each other: {cycle}", hint=_GROUP_CYCLE_HINT)
UNKNOWN_GROUP_MEMBER = Message(
    "unknown_band", "group `{name}` names unknown band `{member}`", hint=COMPUTED
)
INVALID_ACTION_NAME = Message(
    "invalid_action_name",
    "action name `{name}` is not valid",
    hint="dotted lowercase words, e.g. `game.play`",
)
UNSAFE_STORE_ERROR_MODE = Message(
    "unsafe_store_error_mode",
    "spending action `{name}` cannot be allowed while the ledger is unavailable",
    hint='spending always fails closed; remove on_store_error or set it to "deny"',
)
INVALID_TAG = Message("invalid_tag", "tag `{tag}` is not valid", hint="lowercase snake_case")
INVALID_RULE_ID = Message("invalid_id", "rule id `{id}` is not valid", hint=_VALID_ID)
UNKNOWN_BAND = Message("unknown_band", "unknown band or group `{band}`", hint=COMPUTED)
INVALID_REASON_CODE = Message(
    "invalid_reason_code",
    "reason code `{reason}` is not snake_case",
    hint='lowercase words joined by `_`, e.g. "curfew" or "game_time"',
)
MISSING_REASON = Message(
    "missing_key",
    "rule `{id}` of kind `{kind}` needs a `reason`",
    hint='e.g. reason = "curfew"',
)
RULE_WITHOUT_ACTIONS = Message(
    "rule_without_actions",
    "rule `{id}` names no `actions` and no `tags`",
    hint='use actions = ["*"] for every action',
)
UNKNOWN_ACTION = Message("unknown_action", "action `{action}` is not in the catalog", hint=COMPUTED)
UNKNOWN_ACTION_PREFIX = Message(
    "unknown_action", "no action in the catalog starts with `{prefix}`", hint=COMPUTED
)
UNKNOWN_TAG = Message("unknown_tag", "no action in the catalog has tag `{tag}`", hint=COMPUTED)

# -- a kind's own checks (kinds.py, windows.py) --------------------------------------------------
UNKNOWN_DAY_TYPE = Message("unknown_day_type", "`{day}` is not a day type", hint=COMPUTED)
EMPTY_MATCH = Message(
    "invalid_value",
    "rule `{id}` has an empty `match`, which would deny everything",
    hint='e.g. match = {{ recipient = "stranger" }}; use kind `forbid` to deny all',
)
TOO_MANY_DECIMAL_PLACES = Message(
    "invalid_amount",
    "amount `{amount}` has more than {places} decimal places for {currency}",
    hint="amounts are exact to the currency's minor unit",
)
CAP_ON_NON_SPENDING_ACTION = Message(
    "cap_on_non_spending_action",
    "spending cap `{id}` applies to `{action}`, which has no `spend` kind",
    hint='set spend = "..." on [catalog.actions."{action}"]',
)
INHERITED_CAP_ON_NON_SPENDING_ACTION = Message(
    "cap_on_non_spending_action",
    "inherited spending cap `{ref}` applies to `{action}`, which has no `spend` kind",
    hint='set spend = "..." on this action, or give it other tags',
)
BETWEEN_OR_WINDOWS = Message(
    "invalid_window",
    "rule `{id}` needs either `between` or `windows`, not both or neither",
    hint='e.g. between = ["22:00", "06:00"]',
)
DAYS_BESIDE_WINDOWS = Message(
    "invalid_window", "`days` and `except_days` go inside each window when `windows` is used"
)
EMPTY_WINDOW = Message(
    "empty_window",
    "a window from {start} to {end} is empty or the whole day",
    hint="use kind `forbid` to deny all day",
)
WINDOW_STARTS_AT_24 = Message("invalid_time", "a window cannot start at 24:00")
NO_DAYS = Message(
    "unknown_day",
    "`days` is empty, so the window never applies",
    hint='list days, e.g. ["fri", "sat"], or leave `days` out for every day',
)
UNKNOWN_DAY = Message("unknown_day", "`{day}` is not a day selector", hint=COMPUTED)

# -- policy-level keys in codes of this module (the others: diagnostics_meta.py) ---------------
INVALID_IN_FORCE_DATE = Message(
    "invalid_date",
    "`{value}` is not a date",
    hint='write a local date, e.g. from = 2027-01-01 or from = "2027-01-01"',
)
NO_AGE_METHODS = Message(
    "invalid_value",
    "`methods` is empty, so no age signal would count",
    hint="list the methods you accept, or leave out [age_assurance] to accept every method",
)
INVALID_LANGUAGE = Message(
    "invalid_value",
    "`{language}` is not a language tag for `languages`",
    hint='a BCP 47 tag such as "vi" or "pt-BR"; zh-CN and en are always there',
)
EMPTY_TRANSLATION = Message("invalid_value", "the `{language}` message must not be empty")

# -- warnings of `youthmode check` (authoring/checking.py) ---------------------------------------
CALENDAR_UNOFFICIAL_YEAR = Message(
    "calendar_unofficial_year",
    "policy `{policy}`: no official {country} holiday schedule for {year}; plain weekdays are used",
    hint="add the year's rest and working days under [calendar] with official_years = [{year}], "
    "or upgrade the holidays package",
)
