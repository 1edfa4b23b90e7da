"""The decision contract in code: request and decision models (CONTRACT sections 1 and 2).

These models are the single source of the wire format: the library returns them, the HTTP API
serialises them with `model_dump(mode="json")`, and the OpenAPI document is generated from them.
Fields may be added; none may be renamed or removed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from youthmode.units import UnitError, check_amount


def _amount(value: object) -> object:
    """Amounts arrive as JSON strings or numbers; they become Decimal without passing float."""
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_amount", "amount must be a decimal, not a boolean")
    try:
        if isinstance(value, float):
            amount = Decimal(repr(value))  # shortest repr: 30.1 stays 30.1
        elif isinstance(value, int | str | Decimal):
            amount = Decimal(str(value).strip())
        else:
            raise PydanticCustomError("invalid_amount", "amount must be a decimal string")
        return check_amount(amount, places=4)
    except UnitError as err:
        raise PydanticCustomError("invalid_amount", err.message) from None
    except ArithmeticError:
        raise PydanticCustomError("invalid_amount", f"`{value}` is not a decimal amount") from None


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Seconds = Annotated[int, Field(ge=0, le=10 * 366 * 86400)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Subject(Closed):
    id: str | None = Field(default=None, max_length=256, description="opaque, stable user id")
    birthdate: date | None = Field(default=None, description="ISO date; wins over `age`")
    age: int | None = Field(default=None, ge=0, le=150, description="age in whole years")
    verified: bool = Field(default=False, description="identity and age verified (real name)")


class Usage(Closed):
    today_seconds: Seconds | None = Field(default=None, description="metered use today so far")
    session_seconds: Seconds | None = Field(default=None, description="current session length")
    month_spent: Amount | None = Field(default=None, description="spent this month, same kind")
    day_spent: Amount | None = Field(default=None, description="spent today, same kind")


class Resource(BaseModel):
    """Facts about what is acted on; open: rules may match on any other field."""

    model_config = ConfigDict(extra="allow")

    app: str | None = None
    category: str | None = None
    amount: Amount | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    min_age: int | None = Field(default=None, ge=0, le=150)
    recipient: Literal["contact", "stranger"] | None = None


class Guardian(Closed):
    consents: list[str] = Field(default_factory=list, description="actions consented to")
    exemptions: list[str] = Field(default_factory=list, description="waived reason codes")
    exempt_apps: list[str] = Field(
        default_factory=list, description="apps a guardian exempted from waivable time limits"
    )


class DecisionRequest(Closed):
    """One question: may this subject do this action now?"""

    policy: str | None = Field(default=None, description="policy id; default policy if absent")
    subject: Subject = Field(default_factory=Subject)
    action: str = Field(min_length=1, description="dotted action name from the feature catalog")
    at: AwareDatetime | None = Field(default=None, description="RFC 3339 time with offset")
    usage: Usage | None = None
    resource: Resource | None = None
    guardian: Guardian | None = None


class _Sparse(BaseModel):
    """Serialises without the fields that are unset (None), so objects stay minimal."""

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class Reason(BaseModel):
    code: str
    rule: str
    message: str
    message_en: str


class Obligation(_Sparse):
    model_config = ConfigDict(extra="allow")

    type: str
    at: AwareDatetime | None = None
    rule: str | None = None
    message: str | None = None
    message_en: str | None = None


class Remedy(_Sparse):
    type: str
    action: str | None = None
    until: AwareDatetime | None = None
    code: str | None = None


class Facts(_Sparse):
    """What the engine used: enough to replay the decision."""

    local_time: AwareDatetime
    timezone: str
    day_type: str
    calendar_official: bool
    age: int | None = None
    verified: bool
    today_seconds: int | None = None
    session_seconds: int | None = None
    day_spent: Decimal | None = None
    month_spent: Decimal | None = None
    amount: Decimal | None = None
    category: str | None = None
    waived: list[str] | None = None


class PolicyRef(BaseModel):
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

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]


class RuleTrace(BaseModel):
    """One rule as the engine considered it."""

    rule: str
    kind: str
    code: str
    applies: bool
    outcome: Literal["deny", "pass", "waived", "exempt", "not_applicable", "obligation"]
    detail: str


class Explanation(BaseModel):
    decision: Decision
    trace: list[RuleTrace]
