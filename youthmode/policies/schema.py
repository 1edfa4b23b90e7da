"""Pydantic models of policy documents: the TOML format, one model per table.

Unknown keys are rejected (with a did-you-mean added by the loader), durations, times and money
are parsed here by the functions in `youthmode.units`, and every rule table is one of the kinds
of the registry (`kinds.py`), chosen by its `kind` key. Cross-references (bands, actions,
days) are checked later, in `validate.py`, when the whole policy set is known.
"""

from __future__ import annotations

import functools
import operator
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from youthmode.age_signals import AgeMethod
from youthmode.policies import diagnostics
from youthmode.policies import diagnostics_world as dw
from youthmode.units import UnitError, parse_duration, parse_money, parse_time_of_day


def _unit(parse: Any) -> Any:
    def validate(value: object) -> object:
        try:
            return parse(value)
        except UnitError as err:
            raise PydanticCustomError(err.code, err.message, {"hint": err.hint}) from None

    return BeforeValidator(validate)


Duration = Annotated[int, _unit(parse_duration)]
TimeOfDay = Annotated[int, _unit(parse_time_of_day)]
Money = Annotated[Decimal, _unit(lambda value: parse_money(value, places=4))]
Span = Annotated[list[TimeOfDay], Field(min_length=2, max_length=2)]


def _date_or_range(value: object) -> object:
    """A TOML date, `"2027-02-05"`, or a range `"2027-02-05..2027-02-11"` -> list of dates."""
    try:
        if isinstance(value, date):
            return [value]
        if isinstance(value, str):
            first, _, last = value.partition("..")
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
            if end < start or (end - start).days > 366:
                raise ValueError
            return [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1)]
    except ValueError:
        pass
    raise diagnostics.INVALID_DATE.pydantic_error(value=value)


DateSpec = Annotated[list[date], BeforeValidator(_date_or_range)]


def _one_date(value: object) -> object:
    """A TOML local date or `"2027-01-01"` -> date (a date-time is not a date)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise diagnostics.INVALID_IN_FORCE_DATE.pydantic_error(value=value)


LocalDate = Annotated[date, BeforeValidator(_one_date)]
Status = Literal["in_force", "enjoined", "proposed", "repealed"]


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Messages(Document):
    """What a person is shown, in zh-CN and en, and in the languages of `[policy] languages`
    (kept as extra keys; `validate_meta.py` checks them against the declared languages)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    __pydantic_extra__: dict[str, str] = Field(init=False)

    zh_cn: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    @property
    def others(self) -> dict[str, str]:
        """The messages in other languages, by language tag."""
        return dict(self.__pydantic_extra__ or {})


class InForce(Document):
    """When a pack or rule binds: local dates of the pack's zone, `from` inclusive, `until`
    exclusive; either may be left out."""

    from_: LocalDate | None = Field(default=None, alias="from")
    until: LocalDate | None = None


class PolicyMeta(Document):
    id: str
    version: str | None = None
    title: str | None = None
    description: str | None = None
    timezone: str | None = None
    calendar: str | None = None
    age_rollover: Literal["next_day", "on_birthday"] | None = None
    currency: str | None = None
    default: bool = False
    extends: str | None = None
    source: str | None = None
    # policy-level keys of the world packs (validate_meta.py)
    jurisdiction: str | None = None
    in_force: InForce | None = None
    status: Status = "in_force"
    languages: list[str] | None = None
    legal_status: str | None = None
    reviewed: LocalDate | None = None  # when the pack's sources were last checked (in_force.py)
    floors: dict[str, str | list[str]] | None = None


class AgeAssurance(Document):
    """`[age_assurance]`: the age-signal methods this pack accepts."""

    methods: list[str]


class CalendarOverrides(Document):
    rest_days: list[DateSpec] = []
    working_days: list[DateSpec] = []
    official_years: list[int] = []
    source: str | None = None


class Band(Document):
    id: str
    from_: int = Field(alias="from", ge=0)
    to: int | None = None
    description: str | None = None


class ActionSpec(Document):
    metered: bool = False
    tags: list[str] = []
    spend: str | None = None
    on_store_error: Literal["deny", "allow"] = "deny"
    description: str | None = None


class Catalog(Document):
    exempt_categories: list[str] | None = None
    actions: dict[str, ActionSpec] = {}


class Window(Document):
    between: Span
    days: list[str] = ["*"]
    except_days: list[str] = []


class RuleBase(Document):
    id: str
    bands: list[str] = ["*"]
    actions: list[str] = []
    tags: list[str] = []
    reason: str | None = None
    waivable: bool = False
    category_exemptions: bool = False
    override: bool = False
    loosens: str | None = Field(default=None, min_length=1)  # why an override denies less
    message: Messages
    description: str | None = None
    source: str | None = None
    in_force: InForce | None = None
    status: Status = "in_force"


class WindowRuleBase(RuleBase):
    between: Span | None = None
    days: list[str] | None = None
    except_days: list[str] | None = None
    windows: list[Window] = []


class DenyWindowRule(WindowRuleBase):
    kind: Literal["deny_window"]


class AllowWindowRule(WindowRuleBase):
    kind: Literal["allow_window"]


class DailyBudgetRule(RuleBase):
    kind: Literal["daily_budget"]
    limit: Duration
    limit_by_day: dict[str, Duration] = {}
    per: Literal["subject", "app"] = "subject"


class SpendingCapRule(RuleBase):
    kind: Literal["spending_cap"]
    period: Literal["transaction", "day", "month"]
    max: Money


class ForbidRule(RuleBase):
    kind: Literal["forbid"]


def _below_age(value: object) -> object:
    """A whole number or text (`"consent_age"`; consent_limit.check checks which): one clear
    error for anything else, not one per member of the union."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        shown = str(value).lower() if isinstance(value, bool) else str(value)  # as TOML has it
        raise dw.CONSENT_BELOW_AGE_TYPE.pydantic_error(value=shown)
    return value


BelowAge = Annotated[int | str, BeforeValidator(_below_age)]


class ConsentRule(RuleBase):
    kind: Literal["require_consent"]
    consent: str | None = None
    # The action the app may offer instead while consent is absent (remedy `use_instead`).
    instead: str | None = None
    # Consent needed only below an age: a fixed one, or "consent_age", the digital age of
    # consent of the subject's jurisdiction (consent_limit.py), with the age where the table
    # is silent and whether the table's unverified entries count.
    below_age: BelowAge | None = None
    fallback_age: int | None = Field(default=None, ge=0, le=150)
    unverified_ages: Literal["use", "refuse"] | None = None


class VerifiedRule(RuleBase):
    kind: Literal["require_verified"]


class ContentAgeRule(RuleBase):
    kind: Literal["content_age"]


class StrangerContactRule(RuleBase):
    kind: Literal["stranger_contact"]


class ResourceMatchRule(RuleBase):
    kind: Literal["resource_match"]
    match: dict[str, str | list[str]]


class RestReminderRule(RuleBase):
    kind: Literal["rest_reminder"]
    # Exactly one of the two (kind_checks.check_reminder): `after` exclusive, `from` inclusive.
    after: Duration | None = None
    from_: Duration | None = Field(default=None, alias="from")


class LockoutWarningRule(RuleBase):
    kind: Literal["lockout_warning"]
    before: Duration


# -- the world packs' kinds (CONTRACT section 6; evaluators in rules_world.py) ----------------
AgeMethods = Annotated[list[AgeMethod], Field(min_length=1)]


class MinimumAgeRule(RuleBase):
    kind: Literal["minimum_age"]
    age: int = Field(ge=0, le=150)
    methods: AgeMethods | None = None


class AgeAssuranceRule(RuleBase):
    kind: Literal["require_age_assurance"]
    methods: AgeMethods | None = None
    at_least: int | None = Field(default=None, ge=0, le=150)


class AppConsentRule(RuleBase):
    kind: Literal["require_app_consent"]


class GuardianLinkRule(RuleBase):
    kind: Literal["require_guardian_link"]


class WeeklyBudgetRule(RuleBase):
    kind: Literal["weekly_budget"]
    limit: Duration


# -- issue 15: quiet hours in a zone, cumulative-use warnings (rules_zoned.py) ----------------
class ZonedWindow(Document):
    between: Span
    days: list[str] = ["*"]
    except_days: list[str] = []
    months: list[str] = []  # "sep" or a range "sep-may" (inclusive, may wrap); empty: all


class QuietHoursRule(RuleBase):
    kind: Literal["quiet_hours"]
    between: Span | None = None
    days: list[str] | None = None
    except_days: list[str] | None = None
    months: list[str] | None = None
    windows: list[ZonedWindow] = []
    zone: str = "user"  # "user": subject.timezone, else the policy's; or an IANA name
    consent: str | None = None  # a guardian consent that lifts the quiet hours


class UseWarningRule(RuleBase):
    kind: Literal["use_warning"]
    warning: str | None = Field(default=None, min_length=1)  # the obligation's id
    first_access: bool = False
    after: Duration | None = None
    every: Duration | None = None


def _kind_models(base: type[RuleBase]) -> list[type[RuleBase]]:
    """The models below ``base`` that have a `kind`, in the order they are defined here."""
    out: list[type[RuleBase]] = []
    for sub in base.__subclasses__():
        if "kind" in sub.model_fields:
            out.append(sub)
        out.extend(_kind_models(sub))
    return out


# Every rule kind's table, chosen by its `kind` key. The registry (`kinds.py`) names each model
# with the rest of its kind; tests/test_kinds.py checks the two agree.
RULE_MODELS: tuple[type[RuleBase], ...] = tuple(_kind_models(RuleBase))
if TYPE_CHECKING:
    Rule = RuleBase
else:
    Rule = Annotated[functools.reduce(operator.or_, RULE_MODELS), Field(discriminator="kind")]


class PolicyDocument(Document):
    """One policy file."""

    policy: PolicyMeta
    calendar: CalendarOverrides | None = None
    bands: list[Band] = []
    groups: dict[str, list[str]] = {}
    catalog: Catalog = Catalog()
    rules: list[Rule] = []
    age_assurance: AgeAssurance | None = None


def model_keys(model: type[BaseModel]) -> list[str]:
    """The keys a TOML table of this model may have (aliases where set)."""
    return [f.alias or name for name, f in model.model_fields.items()]
