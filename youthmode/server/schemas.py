"""The API's own bodies around the engine's models (problems, batches, policies, health), and an
example request body per operation, for the OpenAPI document (`openapi.py`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from youthmode.model import Decision, DecisionRequest, RuleTrace

# An example body per operation that takes one (shown by /docs, tried by schemathesis).
_DECISION_EXAMPLE: dict[str, Any] = {
    "policy": "cn-baseline",
    "subject": {"id": "u-42", "birthdate": "2014-03-02", "verified": True},
    "action": "game.play",
    "at": "2026-11-27T20:30:00+08:00",
    "usage": {"today_seconds": 1200, "session_seconds": 600},
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "decide": _DECISION_EXAMPLE,
    "decideBatch": {
        "requests": [
            _DECISION_EXAMPLE,
            # the subject's own zone (issue 15): read by quiet hours on the subject's clock
            {
                "subject": {"age": 15, "timezone": "America/New_York"},
                "action": "notification.send",
                "at": "2027-01-05T05:30:00Z",
            },
        ]
    },
    "recordUsage": {
        "subject_id": "u-42",
        "events": [
            {
                "id": "e-1",
                "action": "app.use",
                "app": "com.example.game",
                "start": "2026-11-27T20:00:00+08:00",
                "end": "2026-11-27T20:20:00+08:00",
            }
        ],
    },
    "recordPurchase": {
        "subject_id": "u-42",
        "id": "p-1",
        "action": "game.purchase",
        "amount": "30.00",
        "currency": "CNY",
    },
    "reservePurchase": {
        "subject_id": "u-42",
        "order_id": "o-9",
        "action": "game.purchase",
        "amount": "30.00",
        "currency": "CNY",
        "subject": {"birthdate": "2014-03-02", "verified": True},
    },
    "commitPurchase": {"subject_id": "u-42"},
    "releasePurchase": {"subject_id": "u-42"},
    "updateGuardian": {
        "actor": "parent-1",
        "settings": {"daily_limit": "45m", "app_consent": "approved", "linked": True},
    },
    "grantTime": {"actor": "parent-1", "minutes": 30},
    "askForTime": {"minutes": 30, "note": "finishing homework"},
    "answerTimeRequest": {"actor": "parent-1", "answer": "15m"},
}


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    code: str | None = None
    hint: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None
    index: int | None = Field(default=None, description="batch: position of the bad item")
    known: list[str] | None = Field(default=None, description="known names, for unknown ones")
    problems: list[dict[str, Any]] | None = Field(
        default=None, description="reload: every policy problem with file, line, key"
    )


class DecisionWithTrace(Decision):
    trace: list[RuleTrace] | None = Field(
        default=None, description="with ?explain=true: every rule considered and why"
    )


class BatchRequest(BaseModel):
    requests: list[DecisionRequest] = Field(description="decided in order")


class BatchResponse(BaseModel):
    batch_id: str
    decisions: list[DecisionWithTrace | Problem] = Field(
        description="same order as the requests; a bad item gets a problem object"
    )


class BandInfo(BaseModel):
    id: str
    from_: int = Field(alias="from")
    to: int | None


class PolicySummary(BaseModel):
    id: str
    version: str
    title: str | None
    digest: str
    timezone: str
    calendar: str | None
    default: bool
    extends: str | None
    bands: list[BandInfo]
    actions: list[str]


class RuleInfo(BaseModel):
    rule: str
    kind: str
    code: str
    waivable: bool
    bands: list[str]
    actions: list[str]


class PolicyDetail(PolicySummary):
    groups: dict[str, list[str]]
    exempt_categories: list[str]
    rules: list[RuleInfo]


class PolicyList(BaseModel):
    default: str | None
    digest: str
    policies: list[PolicySummary]


class ReloadAnswer(BaseModel):
    ok: bool
    digest: str | None
    at: str
    source: str
    problems: list[dict[str, Any]]


class Health(BaseModel):
    status: str
    version: str = Field(description="the youthmode release serving (as `youthmode --version`)")


class Readiness(BaseModel):
    """Without an API key (in production mode) only `status` and `ready`; with any valid key,
    or in development mode, everything."""

    status: str
    ready: bool
    mode: str | None = None
    digest: str | None = None
    loaded_at: str | None = None
    source: str | None = None
    stale: bool | None = None
    policies: list[dict[str, Any]] | None = None
    last_reload: dict[str, Any] | None = None
    calendar: list[dict[str, Any]] | None = None
    store: dict[str, Any] | None = Field(
        default=None, description="the ledger store: backend, ok, and the error when not ok"
    )


INPUT = [DecisionRequest, BatchRequest]
OUTPUT = [
    DecisionWithTrace,
    BatchResponse,
    Problem,
    PolicyList,
    PolicyDetail,
    ReloadAnswer,
    Health,
    Readiness,
]
