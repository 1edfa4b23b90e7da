"""The decision contract in code: request and decision models (CONTRACT sections 1 and 2).

These models are the single source of the wire format: the library returns them, the HTTP API
serialises them with `model_dump(mode="json")`, and the OpenAPI document is generated from them.
Fields may be added; none may be renamed or removed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from youthmode import age_signals, jurisdictions, units, zones
from youthmode.age_signals import AgeMethod
from youthmode.errors import RequestProblem, did_you_mean
from youthmode.trusted import Model as Model  # response models built from the engine's values
from youthmode.trusted import trusted as trusted
from youthmode.units import UnitError, check_amount, parse_time_of_day

# -- the limits of a decision request ------------------------------------------------------
# Named once, here, and read by both routes that turn a request into facts (request.py): the
# pydantic fields below and the fast plain-dict reader. tests/test_request.py asks both routes
# about every one of them, at the limit and just past it. The HTTP layer adds its own limits
# for bodies (server/body.py); docs/api.md "Limits" lists them all.
MAX_AGE = 150  # `subject.age`, `resource.min_age`: whole years, from 0
EARLIEST_BIRTHDATE = date(1850, 1, 1)  # `subject.birthdate` (and not after `at`)
MAX_ID_LENGTH = 256  # `subject.id`, in characters
MAX_SECONDS = 10 * 366 * 86400  # `usage.today_seconds`, `usage.session_seconds`: ten years
DAY_SECONDS = 86400  # `guardian.daily_limit_seconds` (from 1), `guardian.extra_seconds`
MIN_DAILY_LIMIT_SECONDS = 1  # `guardian.daily_limit_seconds`
EARLIEST_AT = datetime(2000, 1, 1, tzinfo=UTC)  # CONTRACT section 1: decisions from 2000 ...
LATEST_AT = datetime(2100, 1, 1, tzinfo=UTC)  # ... to the end of 2099 (this bound excluded)
AT_RANGE = f"from {EARLIEST_AT:%Y-%m-%dT%H:%M:%SZ} up to {LATEST_AT:%Y-%m-%dT%H:%M:%SZ} (excluded)"
MAX_AMOUNT = units.MAX_AMOUNT  # amounts: from 0 to 10^12 ...
AMOUNT_PLACES = 4  # ... with at most 4 decimal places, and no more than the currency has
Recipient = Literal["contact", "stranger"]  # `resource.recipient`
RECIPIENTS = frozenset(get_args(Recipient))
MAX_AGE_SIGNALS = age_signals.MAX_SIGNALS  # `subject.age_signals`: a few platforms' answers
MAX_SOURCE_LENGTH = age_signals.MAX_SOURCE_LENGTH  # `subject.age_signals[].source`
AppConsent = Literal["approved", "pending", "denied", "revoked"]  # `guardian.app_consent`


def at_in_range(value: datetime) -> bool:
    """Is this aware instant one a decision may be asked for? (No UTC conversion: it could
    overflow for year 1 or 9999; comparing aware datetimes cannot.)"""
    return EARLIEST_AT <= value < LATEST_AT


def parse_amount(value: object) -> Decimal:
    """A request amount from a JSON string or number, without passing through float.

    Raises UnitError (a ValueError) with the reason. Amounts are at most `MAX_AMOUNT`.
    """
    if isinstance(value, bool):
        raise UnitError("invalid_amount", "amount must be a decimal, not a boolean")
    try:
        if isinstance(value, float):
            amount = Decimal(repr(value))  # shortest repr: 30.1 stays 30.1
        elif isinstance(value, int | str | Decimal):
            amount = Decimal(str(value).strip())
        else:
            raise UnitError("invalid_amount", "amount must be a decimal string")
    except ArithmeticError:
        raise UnitError("invalid_amount", f"`{value}` is not a decimal amount") from None
    return check_amount(amount, places=AMOUNT_PLACES)


def _amount(value: object) -> object:
    try:
        return parse_amount(value)
    except UnitError as err:
        raise PydanticCustomError("invalid_amount", err.message) from None


Amount = Annotated[Decimal, BeforeValidator(_amount)]


def _time_text(value: object) -> object:
    try:
        parse_time_of_day(value)
    except UnitError as err:
        raise PydanticCustomError("invalid_time", err.message) from None
    return value


TimeText = Annotated[str, BeforeValidator(_time_text)]
Seconds = Annotated[int, Field(ge=0, le=MAX_SECONDS)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_huge_numbers(cls, data: Any) -> Any:
        # A Decimal such as 1E+999999999 is a whole number to pydantic: read into an int
        # field it would build a billion-digit integer. The API's JSON decoder refuses such
        # numbers already; library callers pass Python values, so they are checked here too.
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 40:
                    raise PydanticCustomError(
                        "number_out_of_range", f"`{key}`: the number is too large"
                    )
        return data


def _jurisdiction(value: object) -> object:
    if not isinstance(value, str):
        return value  # the str field says what is wrong
    try:
        return jurisdictions.normalise(value)
    except jurisdictions.UnknownJurisdiction as err:
        raise PydanticCustomError("invalid_jurisdiction", str(err)) from None


Jurisdiction = Annotated[str, BeforeValidator(_jurisdiction)]


def _timezone(value: object) -> object:
    if isinstance(value, str) and zones.known_zone(value) is None:
        raise PydanticCustomError("invalid_timezone", zones.why_not(value))
    return value  # a str: a zone; anything else: the str field says what is wrong


TimeZoneName = Annotated[str, BeforeValidator(_timezone)]


class AgeSignalIn(Closed):
    """What a platform or check said about the subject's age (CONTRACT section 6)."""

    source: str = Field(
        min_length=1,
        max_length=MAX_SOURCE_LENGTH,
        description="where it came from: apple_declared_age_range, google_play_age_signals, ...",
    )
    lower: int | None = Field(
        default=None, ge=0, le=MAX_AGE, description="youngest possible age; null = 0"
    )
    upper: int | None = Field(
        default=None, ge=0, le=MAX_AGE, description="oldest possible age; null = open-ended"
    )
    method: AgeMethod = Field(description="how the age was established")
    observed_at: AwareDatetime | None = Field(default=None, description="when it was observed")

    @model_validator(mode="after")
    def _bounds_in_order(self) -> AgeSignalIn:
        why = age_signals.check_bounds(self.lower, self.upper)  # one wording, age_signals.py
        if why is not None:
            raise PydanticCustomError("invalid_age_range", why)
        return self


class Subject(Closed):
    id: str | None = Field(
        default=None, max_length=MAX_ID_LENGTH, description="opaque, stable user id"
    )
    birthdate: date | None = Field(
        default=None, ge=EARLIEST_BIRTHDATE, description="ISO date; wins over `age`"
    )
    age: int | None = Field(default=None, ge=0, le=MAX_AGE, description="age in whole years")
    verified: bool = Field(default=False, description="identity and age verified (real name)")
    jurisdiction: Jurisdiction | None = Field(
        default=None,
        description="ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision (VN, US-TX); "
        "selects the policy's jurisdiction floors",
    )
    age_signals: list[AgeSignalIn] | None = Field(
        default=None,
        max_length=MAX_AGE_SIGNALS,
        description="age ranges platforms reported; the youngest accepted category counts",
    )
    timezone: TimeZoneName | None = Field(
        default=None,
        description="the subject's IANA time zone (America/Los_Angeles): rules on the "
        "subject's clock (quiet hours) read it; absent: the policy's zone",
    )


class Usage(Closed):
    today_seconds: Seconds | None = Field(default=None, description="metered use today so far")
    session_seconds: Seconds | None = Field(default=None, description="current session length")
    month_spent: Amount | None = Field(default=None, description="spent this month, same kind")
    day_spent: Amount | None = Field(default=None, description="spent today, same kind")
    app_today_seconds: Seconds | None = Field(
        default=None, description="metered use today of the app named by `resource.app`"
    )
    week_seconds: Seconds | None = Field(
        default=None, description="metered use this ISO week (Monday to Sunday, local)"
    )


class Resource(BaseModel):
    """Facts about what is acted on; open: rules may match on any other field."""

    model_config = ConfigDict(extra="allow")

    app: str | None = None
    category: str | None = None
    amount: Amount | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    min_age: int | None = Field(default=None, ge=0, le=MAX_AGE)
    recipient: Recipient | None = None


class Guardian(Closed):
    consents: list[str] = Field(default_factory=list, description="actions consented to")
    exemptions: list[str] = Field(default_factory=list, description="waived reason codes")
    exempt_apps: list[str] = Field(
        default_factory=list, description="apps a guardian exempted from waivable time limits"
    )
    daily_limit_seconds: int | None = Field(
        default=None,
        ge=MIN_DAILY_LIMIT_SECONDS,
        le=DAY_SECONDS,
        description="a guardian's tighter daily limit",
    )
    curfew: list[TimeText] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description='a guardian\'s extra curfew window, e.g. ["21:00", "06:00"]',
    )
    more_curfews: list[Annotated[list[TimeText], Field(min_length=2, max_length=2)]] | None = Field(
        default=None, description="further curfew windows (stored settings add theirs)"
    )
    extra_seconds: int | None = Field(
        default=None,
        ge=0,
        le=DAY_SECONDS,
        description="minutes a guardian granted for the local day of `at` (waivable limits)",
    )
    app_consent: AppConsent | None = Field(
        default=None,
        description="the guardian's consent to this app as a platform reports it; null: unknown",
    )
    linked: bool | None = Field(
        default=None, description="the account is linked to a verified guardian account"
    )


def _sane_time(value: datetime | None) -> datetime | None:
    if value is not None and not at_in_range(value):
        raise PydanticCustomError("invalid_time", f"`at` must be {AT_RANGE}")
    return value


class DecisionRequest(Closed):
    """One question: may this subject do this action now?"""

    policy: str | None = Field(default=None, description="policy id; default policy if absent")
    subject: Subject = Field(default_factory=Subject)
    action: str = Field(min_length=1, description="dotted action name from the feature catalog")
    at: Annotated[AwareDatetime | None, AfterValidator(_sane_time)] = Field(
        default=None, description="RFC 3339 time with offset"
    )
    usage: Usage | None = None
    resource: Resource | None = None
    guardian: Guardian | None = None


def request_problem_from(error: Any) -> RequestProblem:
    """One pydantic validation error as a request problem, with a "did you mean" for an
    unknown field of a decision request."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        name = str(loc[-1])
        fields = _fields_at(loc[:-1])
        return RequestProblem(
            loc, f"unknown field `{name}`", "unknown_field", did_you_mean(name, fields)
        )
    if error["type"] == "missing":
        return RequestProblem(loc, f"`{loc[-1]}` is required", "missing_field")
    return RequestProblem(loc, error["msg"], "invalid_value")


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    models: dict[tuple[Any, ...], type[Any]] = {
        (): DecisionRequest,
        ("subject",): Subject,
        ("usage",): Usage,
        ("guardian",): Guardian,
        ("resource",): Resource,
    }
    found = models.get(loc)
    return list(found.model_fields) if found else []


def _is_none(value: object) -> bool:
    return value is None


def sparse(description: str | None = None) -> Any:
    """An optional response field that is left out of the JSON when unset."""
    return Field(default=None, exclude_if=_is_none, description=description)


class ConsentAgeUsed(BaseModel):
    model_config = ConfigDict(frozen=True)  # the age below which a `below_age` rule asked

    age: int
    jurisdiction: str | None = Field(description="the table's entry used, else the subject's")
    fallback: bool = Field(description="the rule's fallback_age (or fixed age), not the table's")
    source: str | None = Field(default=None, description="the table entry's source")
    verified: bool | None = Field(default=None, description="the table entry is verified")


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared between decisions: one per rule

    code: str
    rule: str
    message: str
    message_en: str
    messages: dict[str, str] | None = sparse("the policy's extra languages: language -> text")
    consent_age: ConsentAgeUsed | None = sparse("below_age rules: the age of consent used")


class Obligation(BaseModel):
    """Something the app must do while allowing, e.g. show a rest reminder."""

    type: str
    at: AwareDatetime | None = sparse("when, for a lockout warning: the instant use will stop")
    id: str | None = sparse("for a warning: which warning (the policy names it)")
    after_seconds: int | None = sparse(
        "for a warning: seconds of further use until it is due (0: show it now)"
    )
    rule: str | None = sparse("policy-id/rule-id")
    message: str | None = sparse("text to show, zh-CN")
    message_en: str | None = sparse("text to show, en")


class Remedy(BaseModel):
    """What could turn a deny into an allow."""

    model_config = ConfigDict(frozen=True)  # the fast path shares a rule's between decisions

    type: str = Field(
        description="guardian_consent, verify_identity, verify_age, guardian_waiver, wait or "
        "use_instead"
    )
    action: str | None = sparse(
        "the action a guardian_consent remedy is for; for use_instead: the action to offer instead"
    )
    at_least: int | None = sparse("for verify_age: the least age that would be allowed")
    methods: list[str] | None = sparse("for verify_age: the methods the age must rest on")
    until: AwareDatetime | None = sparse("for wait: the next allowed instant")
    code: str | None = sparse("for guardian_waiver: the reason code a guardian may waive")


class Facts(BaseModel):
    """What the engine used: enough to replay the decision."""

    local_time: AwareDatetime = Field(description="`at` in the policy's time zone")
    timezone: str
    day_type: str = Field(description="workday, weekend, holiday or makeup_workday")
    calendar_official: bool = Field(description="the year's official schedule is known")
    age: int | None = Field(
        default=None, description="age at `at`; null when unknown or only a range is known"
    )
    age_range: dict[str, Any] | None = sparse(
        "the age signal that counted: lower, upper (null: open-ended), source, method"
    )
    ignored_signals: list[dict[str, Any]] | None = sparse(
        "age signals set aside because the policy does not accept their method"
    )
    jurisdiction: str | None = sparse("the subject's jurisdiction, as matched")
    verified: bool
    today_seconds: int | None = sparse("metered use counted today before this request")
    session_seconds: int | None = sparse("current session length")
    app_today_seconds: int | None = sparse("today's use of `resource.app` (when not 0)")
    week_seconds: int | None = sparse("this ISO week's use (when not 0)")
    day_spent: Decimal | None = sparse("spent today on this kind of spending")
    month_spent: Decimal | None = sparse("spent this month on this kind of spending")
    amount: Decimal | None = sparse("this transaction's amount")
    category: str | None = sparse("the app's category")
    waived: list[str] | None = sparse("guardian waivers in force for this request")
    guardian: dict[str, Any] | None = sparse("guardian settings applied: limit, curfew, grants")
    redacted: list[str] | None = sparse(
        "facts withheld from this API key: ledger usage figures need the `usage` scope, "
        "guardian settings (`guardian`, `waived`) the `guardian` scope"
    )


class PolicyRef(BaseModel):
    model_config = ConfigDict(frozen=True)  # shared between decisions: one per policy

    id: str
    version: str
    digest: str


class Decision(BaseModel):
    decision_id: str
    effect: Literal["allow", "deny"]
    allowed: bool
    band: str
    reasons: list[Reason]
    obligations: list[Obligation]
    remedies: list[Remedy]
    remaining_seconds: int | None
    valid_until: AwareDatetime | None
    next_allowed_at: AwareDatetime | None
    facts: Facts
    policy: PolicyRef
    policies: list[PolicyRef] | None = sparse(
        "every pack applied: the requested policy, then its jurisdiction floors (present only "
        "when a floor applied)"
    )
    degraded: bool = Field(
        default=False,
        exclude_if=lambda v: not v,
        description="true when the ledger could not be read and the policy's declared "
        "failure mode decided (present only when true)",
    )

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]


class RuleTrace(BaseModel):
    """One rule as the engine considered it."""

    rule: str
    kind: str
    code: str
    applies: bool
    outcome: Literal[
        "deny", "pass", "waived", "exempt", "not_applicable", "obligation", "not_in_force"
    ]
    detail: str


class Explanation(BaseModel):
    decision: Decision
    trace: list[RuleTrace]
