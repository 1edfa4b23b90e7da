"""Request and answer models of the ledger endpoints (CONTRACT section 4), for validation and
for the OpenAPI document. Answers are built by `youthmode.ledger`; these models describe them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from youthmode.model import Amount, Decision, Guardian, Subject, sparse


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageEvent(Body):
    """One interval of active use on one device."""

    id: str = Field(min_length=1, max_length=200, description="idempotency key")
    action: str
    start: AwareDatetime
    end: AwareDatetime
    app: str | None = Field(
        default=None,
        max_length=200,
        description="the app used (`resource.app` in decisions): its use is also kept per app, "
        "at most 64 apps a day; guardian-exempt apps are not counted",
    )
    category: str | None = Field(default=None, description="exempt categories are not counted")
    device: str | None = None


class UsageBody(Body):
    subject_id: str = Field(min_length=1, max_length=200)
    events: list[dict[str, Any]] = Field(
        description="UsageEvent objects; each is answered on its own (a bad one is rejected, "
        "the rest are recorded)",
        json_schema_extra={"items": {"$ref": "#/components/schemas/UsageEvent"}},
    )
    policy: str | None = None


class EventResult(BaseModel):
    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = sparse("why it was rejected")
    counted: bool | None = sparse("false for exempt apps and actions that are not metered")
    warnings: list[str] | None = sparse("fields of the event that were not understood (ignored)")


class SpendFigures(BaseModel):
    day: str
    month: str
    held_day: str
    held_month: str


class Totals(BaseModel):
    subject_id: str
    policy: str
    day: str = Field(description="the policy's local day")
    month: str
    today_seconds: int
    session_seconds: int
    spend: dict[str, SpendFigures] = Field(description="per kind of spending")
    currency: str
    week: str = Field(description="the Monday of the local day's ISO week")
    week_seconds: int = Field(description="counted use from that Monday up to now")
    apps: dict[str, int] = Field(
        description="counted use today per app (events' `app`), apps with use only"
    )


class UsageAnswer(BaseModel):
    subject_id: str
    results: list[EventResult]
    totals: Totals


class PurchaseBody(Body):
    subject_id: str = Field(min_length=1, max_length=200)
    id: str = Field(min_length=1, max_length=200, description="idempotency key")
    action: str
    amount: Amount
    currency: str | None = None
    at: AwareDatetime | None = None
    policy: str | None = None


class PurchaseAnswer(BaseModel):
    id: str
    status: Literal["recorded", "duplicate"]
    totals: Totals


class ReserveBody(Body):
    subject_id: str = Field(min_length=1, max_length=200)
    order_id: str = Field(min_length=1, max_length=200, description="idempotency key")
    action: str
    amount: Amount
    currency: str | None = None
    subject: Subject | None = None
    at: AwareDatetime | None = None
    policy: str | None = None
    resource: dict[str, Any] | None = None
    guardian: Guardian | None = None


class Reservation(BaseModel):
    order_id: str
    state: str
    amount: str
    expires_at: str


class ReserveAnswer(Decision):
    reservation: Reservation | None = sparse("present when the amount is held")


class OrderBody(Body):
    subject_id: str | None = None


class OrderAnswer(BaseModel):
    order_id: str
    state: Literal["committed", "released", "refunded"]
    amount: str


class GuardianSettings(Body):
    daily_limit: str | int | None = Field(default=None, description='tighter limit, e.g. "45m"')
    curfew: list[str] | None = Field(default=None, description='e.g. ["21:00", "06:00"]')
    exempt_apps: list[str] | None = None
    waivers: list[str] | None = Field(default=None, description="reason codes to waive")
    consents: list[str] | None = None
    app_consent: Literal["approved", "pending", "denied", "revoked"] | None = Field(
        default=None,
        description="the guardian's consent to the app as the platform reports it "
        "(e.g. revoked after Apple's consent revocation notice)",
    )
    linked: StrictBool | None = Field(
        default=None, description="the account is linked to a verified guardian account"
    )


class GuardianPatch(Body):
    actor: str | None = Field(default=None, description="who; or the X-Actor header")
    settings: GuardianSettings
    policy: str | None = None


class GrantBody(Body):
    actor: str | None = None
    minutes: int | str = Field(description='minutes, a duration like "30m", or "rest_of_day"')
    policy: str | None = None


class AskBody(Body):
    minutes: int | None = None
    note: str | None = None
    policy: str | None = None


class AnswerBody(Body):
    actor: str | None = None
    answer: Literal["15m", "1h", "rest_of_day", "deny"]
    policy: str | None = None


class Grant(BaseModel):
    seconds: int
    actor: str
    at: str
    source: str


class TimeRequest(BaseModel):
    id: str
    minutes: int | None
    note: str | None
    status: Literal["pending", "approved", "denied", "expired"]
    created_at: str
    expires_at: str
    answer: str | None = sparse()
    answered_by: str | None = sparse()
    answered_at: str | None = sparse()


class GuardianView(BaseModel):
    subject_id: str
    settings: dict[str, Any]
    day: str
    grants: list[Grant]
    extra_seconds_today: int
    rest_of_day: bool
    requests: list[TimeRequest]


class LogEntry(BaseModel):
    seq: int
    at: str
    actor: str
    change: str
    before: Any
    after: Any


class GuardianLog(BaseModel):
    subject_id: str
    changes: list[LogEntry]


INPUT_MODELS: list[type[BaseModel]] = [
    UsageEvent,
    UsageBody,
    PurchaseBody,
    ReserveBody,
    OrderBody,
    GuardianPatch,
    GrantBody,
    AskBody,
    AnswerBody,
]
OUTPUT_MODELS: list[type[BaseModel]] = [
    UsageAnswer,
    PurchaseAnswer,
    ReserveAnswer,
    OrderAnswer,
    GuardianView,
    TimeRequest,
    GuardianLog,
    Totals,
]
