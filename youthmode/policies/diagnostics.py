"""Every policy problem, named once: its code, message template and hint.

A `Code` is what `youthmode check` prints and `docs/errors/<code>.md` explains: its name, the
one-line meaning of the docs index, and whether it is an error or a warning. A `Message` is one
wording of a code, with `{placeholders}` for the values a call site passes:

    check.add(src, ("bands", i, "from"), diagnostics.BAND_GAP_AGES(low=3, high=7, band="teen"))

gives a `Finding` (code, message, hint, severity); the stage that found it adds where it is
(`Finding.at` or `SourceFile.problem`). A hint is a template too, or `None` for none, or
`COMPUTED` when the call site works it out (did-you-mean, a list of choices) and passes it as
``hint=``. `CODES` lists every code: `tests/test_cli_errors_docs.py` checks each has its page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from youthmode.errors import Problem, Severity


class _Computed(Enum):
    COMPUTED = "computed"


COMPUTED: Final = _Computed.COMPUTED  # the hint is worked out where the problem is found
Hint = str | None | _Computed


@dataclass(frozen=True, slots=True)
class Code:
    """One problem code: the name `check` prints, its docs page and its meaning."""

    name: str
    meaning: str  # the docs index's one line (docs/errors/README.md)
    severity: Severity = "error"

    @property
    def doc(self) -> str:
        """The page that explains the code, relative to the repository root."""
        return f"docs/errors/{self.name}.md"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem's what, before the stage that found it says where."""

    code: str
    message: str
    hint: str | None
    severity: Severity

    def at(
        self,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
        rule: str | None = None,
    ) -> Problem:
        return Problem(
            self.code, self.message, file, line, column, key, self.hint, rule, self.severity
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One wording of a code; call it with the template's values (and a computed hint)."""

    code: Code
    template: str
    hint: Hint = None

    def __call__(self, *, hint: str | None = None, **values: object) -> Finding:
        if self.hint is COMPUTED:
            text = hint
        else:
            # INVARIANT: a fixed hint is never overridden, so the catalogue shows every wording.
            assert hint is None, f"{self.code.name}: this message's hint is fixed"
            text = None if self.hint is None else self.hint.format(**values)
        return Finding(self.code.name, self.template.format(**values), text, self.code.severity)


_CODES: list[Code] = []


def _code(name: str, meaning: str, severity: Severity = "error") -> Code:
    code = Code(name, meaning, severity)
    _CODES.append(code)
    return code


# -- the codes, in the order of the docs index ---------------------------------------------------
# files and syntax
NO_POLICIES_CODE = _code("no_policies", "no `*.toml` policy files in the folder or files given")
UNREADABLE_FILE_CODE = _code("unreadable_file", "a file could not be read")
INVALID_ENCODING_CODE = _code("invalid_encoding", "a file is not UTF-8 text")
TOML_SYNTAX_CODE = _code(
    "toml_syntax", "not valid TOML, e.g. a time without quotes, or a key written twice"
)
# keys and values
UNKNOWN_KEY_CODE = _code("unknown_key", "a key the table does not have (often a typo)")
MISSING_KEY_CODE = _code("missing_key", "a required key or table is missing")
UNKNOWN_RULE_KIND_CODE = _code("unknown_rule_kind", "`kind` is not one of the twelve rule kinds")
INVALID_TYPE_CODE = _code("invalid_type", "a value of the wrong type, e.g. a number in quotes")
INVALID_VALUE_CODE = _code("invalid_value", "a value out of range or not one of the choices")
INVALID_DURATION_CODE = _code("invalid_duration", "not a duration")
INVALID_TIME_CODE = _code("invalid_time", "not a time of day, or a window starting at 24:00")
INVALID_AMOUNT_CODE = _code(
    "invalid_amount",
    "not a valid amount: an unquoted decimal, negative, too many decimal places",
)
INVALID_DATE_CODE = _code("invalid_date", "not a date or date range")
# policies and extends
INVALID_ID_CODE = _code(
    "invalid_id", "a policy, band or rule id breaks the id rules, or a reserved name is used"
)
DUPLICATE_POLICY_ID_CODE = _code("duplicate_policy_id", "two files define the same policy id")
DUPLICATE_DEFAULT_CODE = _code("duplicate_default", "more than one policy sets `default = true`")
UNKNOWN_POLICY_CODE = _code("unknown_policy", "`extends` names a policy that is not loaded")
EXTENDS_CYCLE_CODE = _code("extends_cycle", "`extends` leads back to the same policy")
INVALID_TIMEZONE_CODE = _code("invalid_timezone", "`timezone` is not an IANA time zone")
UNKNOWN_CALENDAR_CODE = _code(
    "unknown_calendar", "no holiday calendar for the `calendar` country code"
)
# bands, groups, catalog
BANDS_REDEFINED_CODE = _code(
    "bands_redefined", "a pack that extends another has its own `[[bands]]`"
)
DUPLICATE_BAND_CODE = _code("duplicate_band", "two bands have the same id")
INVALID_BAND_RANGE_CODE = _code("invalid_band_range", "a band's `to` is not after its `from`")
BAND_GAP_CODE = _code(
    "band_gap", "some ages are in no band (including: the oldest band has a `to`)"
)
BAND_OVERLAP_CODE = _code("band_overlap", "some ages are in two bands")
DUPLICATE_GROUP_CODE = _code("duplicate_group", "a group the parent already defines")
UNKNOWN_BAND_CODE = _code(
    "unknown_band", "a rule or group names a band or group that does not exist"
)
GROUP_CYCLE_CODE = _code("group_cycle", "a group names itself, directly or through other groups")
INVALID_ACTION_NAME_CODE = _code(
    "invalid_action_name", "an action name that is not dotted lowercase words"
)
DUPLICATE_ACTION_CODE = _code("duplicate_action", "an action the parent's catalog already has")
UNSAFE_STORE_ERROR_MODE_CODE = _code(
    "unsafe_store_error_mode",
    "a spending action set to be allowed while the usage ledger is down",
)
INVALID_TAG_CODE = _code("invalid_tag", "a tag that is not lowercase `snake_case`")
# rules
DUPLICATE_RULE_ID_CODE = _code(
    "duplicate_rule_id",
    "two rules with one id, or an inherited rule's id without `override = true`",
)
NOTHING_TO_OVERRIDE_CODE = _code(
    "nothing_to_override", "`override = true`, but no inherited rule has that id"
)
INVALID_REASON_CODE_CODE = _code("invalid_reason_code", "`reason` is not lowercase `snake_case`")
RULE_WITHOUT_ACTIONS_CODE = _code(
    "rule_without_actions", "a rule with neither `actions` nor `tags`"
)
UNKNOWN_ACTION_CODE = _code(
    "unknown_action", "an action (or `prefix.*`) that matches nothing in the catalog"
)
UNKNOWN_TAG_CODE = _code("unknown_tag", "a tag no catalog action has")
CAP_ON_NON_SPENDING_ACTION_CODE = _code(
    "cap_on_non_spending_action", "a `spending_cap` covers an action without `spend`"
)
UNKNOWN_DAY_TYPE_CODE = _code("unknown_day_type", "a `limit_by_day` key that is not a day type")
INVALID_WINDOW_CODE = _code(
    "invalid_window",
    "both or neither of `between` and `windows`, or `days` beside `windows`",
)
EMPTY_WINDOW_CODE = _code(
    "empty_window", "a window from a time to the same time, or `00:00`–`24:00`"
)
UNKNOWN_DAY_CODE = _code("unknown_day", "a `days` / `except_days` entry that is not a day selector")
# warnings
CALENDAR_UNOFFICIAL_YEAR_CODE = _code(
    "calendar_unofficial_year",
    "no official holiday schedule for this year or next (a warning)",
    severity="warning",
)

CODES: tuple[Code, ...] = tuple(_CODES)
BY_CODE: dict[str, Code] = {c.name: c for c in CODES}

_VALID_ID = "use lowercase letters, digits, `-`, `_` and `.`"
_DETAIL = "{detail}"  # a message worded elsewhere: by tomllib, pydantic or `units`

# -- stage 1: files, syntax, tables (loader.py, source.py) ---------------------------------------
NO_POLICIES = Message(NO_POLICIES_CODE, "no policy files (*.toml) found in `{named}`")
UNREADABLE_FILE = Message(UNREADABLE_FILE_CODE, "cannot read `{name}`: {reason}")
INVALID_ENCODING = Message(
    INVALID_ENCODING_CODE,
    "file is not UTF-8: byte 0x{byte:02x} is not valid here ({reason})",
    hint="save the file as UTF-8",
)
TOML_SYNTAX = Message(TOML_SYNTAX_CODE, _DETAIL, hint=COMPUTED)
TOML_TOO_DEEP = Message(
    TOML_SYNTAX_CODE,
    "values are nested too deeply to read (arrays or tables inside each other)",
    hint="a policy needs a few levels of nesting; is this the file you meant?",
)
UNKNOWN_KEY = Message(UNKNOWN_KEY_CODE, "unknown key `{key}`", hint=COMPUTED)
MISSING_KEY = Message(MISSING_KEY_CODE, "missing required key `{key}`", hint=COMPUTED)
MISSING_RULE_KIND = Message(MISSING_KEY_CODE, "rule needs a `kind`", hint="kinds: {kinds}")
UNKNOWN_RULE_KIND = Message(UNKNOWN_RULE_KIND_CODE, "unknown rule kind `{kind}`", hint=COMPUTED)
INVALID_TYPE = Message(INVALID_TYPE_CODE, "`{key}` must be {expected}, not {found}")
INVALID_TYPE_QUOTED_NUMBER = Message(
    INVALID_TYPE_CODE,
    "`{key}` must be {expected}, not {found}",
    hint="write the number without quotes",
)
INVALID_VALUE = Message(INVALID_VALUE_CODE, _DETAIL)
NOT_A_CHOICE = Message(
    INVALID_VALUE_CODE, "`{value}` is not allowed for `{key}`; expected {expected}", hint=COMPUTED
)
WRONG_LENGTH = Message(INVALID_VALUE_CODE, "`{key}` needs {bound} {wanted} items, not {items}")
BETWEEN_LENGTH = Message(
    INVALID_VALUE_CODE,
    "`between` needs a start and an end time, not {items}",
    hint='e.g. between = ["22:00", "06:00"]',
)
EMPTY_TEXT = Message(INVALID_VALUE_CODE, "`{key}` must not be empty")
OUT_OF_RANGE = Message(INVALID_VALUE_CODE, "`{key}` must be {relation} {bound}, not {value}")
# A value `units` rejects keeps its own message and hint (the request route words them too).
UNIT_ERRORS: dict[str, Message] = {
    code.name: Message(code, _DETAIL, hint=COMPUTED)
    for code in (INVALID_DURATION_CODE, INVALID_TIME_CODE, INVALID_AMOUNT_CODE, INVALID_DATE_CODE)
}

# -- stage 2: a policy and its `extends` (resolve.py) --------------------------------------------
INVALID_POLICY_ID = Message(INVALID_ID_CODE, "policy id `{id}` is not valid", hint=_VALID_ID)
DUPLICATE_POLICY_ID = Message(
    DUPLICATE_POLICY_ID_CODE,
    "policy `{id}` is also defined in `{other}`",
    hint="give each policy file its own `id`",
)
DUPLICATE_DEFAULT = Message(
    DUPLICATE_DEFAULT_CODE,
    "policies `{first}` and `{other}` are both marked `default`",
    hint="set `default = true` on one policy only",
)
EXTENDS_CYCLE = Message(
    EXTENDS_CYCLE_CODE,
    "`extends` makes a cycle: {cycle}",
    hint="a policy cannot extend itself, directly or through others",
)
UNKNOWN_POLICY = Message(
    UNKNOWN_POLICY_CODE, "policy `{id}` extends unknown policy `{parent}`", hint=COMPUTED
)
MISSING_VERSION = Message(
    MISSING_KEY_CODE,
    "missing required key `version`",
    hint='give the policy a version, e.g. version = "2026.1"',
)
MISSING_TIMEZONE = Message(
    MISSING_KEY_CODE, "missing required key `timezone`", hint='e.g. timezone = "Asia/Shanghai"'
)
INVALID_TIMEZONE = Message(
    INVALID_TIMEZONE_CODE, "`{name}` is not an IANA time zone", hint=COMPUTED
)
UNKNOWN_CALENDAR = Message(
    UNKNOWN_CALENDAR_CODE, "no holiday calendar for country `{country}`", hint=COMPUTED
)
INVALID_CURRENCY = Message(
    INVALID_VALUE_CODE, "currency `{currency}` is not an ISO 4217 code", hint='e.g. "CNY"'
)
BANDS_REDEFINED = Message(
    BANDS_REDEFINED_CODE,
    "bands are inherited from `{parent}` and cannot be redefined",
    hint="refer to the parent's bands or add groups of them",
)
DUPLICATE_GROUP = Message(
    DUPLICATE_GROUP_CODE,
    "group `{name}` is already defined by `{parent}`",
    hint="choose another name for the group",
)
DUPLICATE_ACTION = Message(
    DUPLICATE_ACTION_CODE,
    "action `{name}` is already in the catalog of `{parent}`",
    hint="an inherited action cannot be redefined; use it or choose another name",
)
DUPLICATE_RULE_ID = Message(
    DUPLICATE_RULE_ID_CODE,
    "rule id `{id}` is used twice in this policy",
    hint="give each rule its own id",
)
INHERITED_RULE_ID = Message(
    DUPLICATE_RULE_ID_CODE,
    "rule `{id}` is already defined by `{origin}`",
    hint="set `override = true` to replace it, or choose another id",
)
NOTHING_TO_OVERRIDE = Message(
    NOTHING_TO_OVERRIDE_CODE,
    "rule `{id}` sets `override` but no inherited rule has that id",
    hint=COMPUTED,
)

# -- stage 2: cross-checks of a file's tables (validate.py) --------------------------------------
MISSING_BANDS = Message(
    MISSING_KEY_CODE,
    "a policy needs `[[bands]]` covering every age",
    hint='start with [[bands]] id = "adult" from = 0',
)
RESERVED_BAND_ID = Message(
    INVALID_ID_CODE,
    "band id `{id}` is reserved",
    hint="the band `unknown` (age not known) always exists; choose another id",
)
INVALID_BAND_ID = Message(INVALID_ID_CODE, "band id `{id}` is not valid", hint=_VALID_ID)
DUPLICATE_BAND = Message(
    DUPLICATE_BAND_CODE, "band `{id}` is defined twice", hint="give each band its own id"
)
INVALID_BAND_RANGE = Message(
    INVALID_BAND_RANGE_CODE,
    "band `{id}` must end after it starts: `to` is {to}, `from` is {from_}",
    hint="`to` is the first age after the band: ages 8 to 11 are from = 8, to = 12",
)
BAND_GAP_AGE = Message(
    BAND_GAP_CODE,
    "no band covers age {low}",
    hint="start band `{band}` at {low} or add a band for the gap",
)
BAND_GAP_AGES = Message(
    BAND_GAP_CODE,
    "no band covers ages {low} to {high}",
    hint="start band `{band}` at {low} or add a band for the gap",
)
BAND_GAP_ABOVE = Message(
    BAND_GAP_CODE,
    "no band covers ages {low} and over",
    hint="leave out `to` on the oldest band",
)
BAND_OVERLAP = Message(
    BAND_OVERLAP_CODE,
    "band `{id}` overlaps another band at age {age}",
    hint="bands are half-open ranges [from, to): each starts where the last ends",
)
GROUP_NAMED_LIKE_A_BAND = Message(
    INVALID_ID_CODE,
    "group `{name}` has the name of a band",
    hint="choose another name for the group",
)
_GROUP_CYCLE_HINT = "a group can name bands and other groups, but not itself"
GROUP_INCLUDES_ITSELF = Message(
    GROUP_CYCLE_CODE, "group `{name}` includes itself", hint=_GROUP_CYCLE_HINT
)
GROUP_CYCLE = Message(
    GROUP_CYCLE_CODE, "groups include each other: {cycle}", hint=_GROUP_CYCLE_HINT
)
UNKNOWN_GROUP_MEMBER = Message(
    UNKNOWN_BAND_CODE, "group `{name}` names unknown band `{member}`", hint=COMPUTED
)
INVALID_ACTION_NAME = Message(
    INVALID_ACTION_NAME_CODE,
    "action name `{name}` is not valid",
    hint="dotted lowercase words, e.g. `game.play`",
)
UNSAFE_STORE_ERROR_MODE = Message(
    UNSAFE_STORE_ERROR_MODE_CODE,
    "spending action `{name}` cannot be allowed while the ledger is unavailable",
    hint='spending always fails closed; remove on_store_error or set it to "deny"',
)
INVALID_TAG = Message(INVALID_TAG_CODE, "tag `{tag}` is not valid", hint="lowercase snake_case")
INVALID_RULE_ID = Message(INVALID_ID_CODE, "rule id `{id}` is not valid", hint=_VALID_ID)
UNKNOWN_BAND = Message(UNKNOWN_BAND_CODE, "unknown band or group `{band}`", hint=COMPUTED)
INVALID_REASON_CODE = Message(
    INVALID_REASON_CODE_CODE,
    "reason code `{reason}` is not snake_case",
    hint='lowercase words joined by `_`, e.g. "curfew" or "game_time"',
)
MISSING_REASON = Message(
    MISSING_KEY_CODE,
    "rule `{id}` of kind `{kind}` needs a `reason`",
    hint='e.g. reason = "curfew"',
)
RULE_WITHOUT_ACTIONS = Message(
    RULE_WITHOUT_ACTIONS_CODE,
    "rule `{id}` names no `actions` and no `tags`",
    hint='use actions = ["*"] for every action',
)
UNKNOWN_ACTION = Message(
    UNKNOWN_ACTION_CODE, "action `{action}` is not in the catalog", hint=COMPUTED
)
UNKNOWN_ACTION_PREFIX = Message(
    UNKNOWN_ACTION_CODE, "no action in the catalog starts with `{prefix}`", hint=COMPUTED
)
UNKNOWN_TAG = Message(UNKNOWN_TAG_CODE, "no action in the catalog has tag `{tag}`", hint=COMPUTED)

# -- a kind's own checks (kinds.py, windows.py) --------------------------------------------------
UNKNOWN_DAY_TYPE = Message(UNKNOWN_DAY_TYPE_CODE, "`{day}` is not a day type", hint=COMPUTED)
EMPTY_MATCH = Message(
    INVALID_VALUE_CODE,
    "rule `{id}` has an empty `match`, which would deny everything",
    hint='e.g. match = {{ recipient = "stranger" }}; use kind `forbid` to deny all',
)
TOO_MANY_DECIMAL_PLACES = Message(
    INVALID_AMOUNT_CODE,
    "amount `{amount}` has more than {places} decimal places for {currency}",
    hint="amounts are exact to the currency's minor unit",
)
CAP_ON_NON_SPENDING_ACTION = Message(
    CAP_ON_NON_SPENDING_ACTION_CODE,
    "spending cap `{id}` applies to `{action}`, which has no `spend` kind",
    hint='set spend = "..." on [catalog.actions."{action}"]',
)
INHERITED_CAP_ON_NON_SPENDING_ACTION = Message(
    CAP_ON_NON_SPENDING_ACTION_CODE,
    "inherited spending cap `{ref}` applies to `{action}`, which has no `spend` kind",
    hint='set spend = "..." on this action, or give it other tags',
)
BETWEEN_OR_WINDOWS = Message(
    INVALID_WINDOW_CODE,
    "rule `{id}` needs either `between` or `windows`, not both or neither",
    hint='e.g. between = ["22:00", "06:00"]',
)
DAYS_BESIDE_WINDOWS = Message(
    INVALID_WINDOW_CODE, "`days` and `except_days` go inside each window when `windows` is used"
)
EMPTY_WINDOW = Message(
    EMPTY_WINDOW_CODE,
    "a window from {start} to {end} is empty or the whole day",
    hint="use kind `forbid` to deny all day",
)
WINDOW_STARTS_AT_24 = Message(INVALID_TIME_CODE, "a window cannot start at 24:00")
NO_DAYS = Message(
    UNKNOWN_DAY_CODE,
    "`days` is empty, so the window never applies",
    hint='list days, e.g. ["fri", "sat"], or leave `days` out for every day',
)
UNKNOWN_DAY = Message(UNKNOWN_DAY_CODE, "`{day}` is not a day selector", hint=COMPUTED)

# -- warnings of `youthmode check` (authoring/checking.py) ---------------------------------------
CALENDAR_UNOFFICIAL_YEAR = Message(
    CALENDAR_UNOFFICIAL_YEAR_CODE,
    "policy `{policy}`: no official {country} holiday schedule for {year}; plain weekdays are used",
    hint="add the year's rest and working days under [calendar] with official_years = [{year}], "
    "or upgrade the holidays package",
)
