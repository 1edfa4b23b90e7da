"""The ledger half of the API (CONTRACT section 4): usage, purchases, guardian controls.

Writes that the store cannot take answer 503 with Retry-After and change nothing (or, when the
store took the write but its answer was lost, 503 saying the outcome is unknown: every write is
idempotent by its id or `Idempotency-Key`, so the caller retries it as it was); conflicts
(an order id reused, an expired reservation) answer 409; a guardian change the policy does not
allow answers 422 and changes nothing. A key bound to a tenant acts only on its own subjects.
"""

from __future__ import annotations

import json
import time
from typing import TypeVar

from flask import Blueprint, Response, request
from pydantic import BaseModel, ValidationError

from youthmode.decision import redacted
from youthmode.engine import request_problem_from
from youthmode.errors import RequestError
from youthmode.ledger import Ledger
from youthmode.ledger.guardian import GuardianRefused
from youthmode.ledger.store import LedgerConflict, NotFound, StoreOutcomeUnknown
from youthmode.ledger_models import (
    AnswerBody,
    AskBody,
    GrantBody,
    GuardianPatch,
    OrderBody,
    PurchaseBody,
    ReserveBody,
    UsageBody,
)
from youthmode.model import Decision, DecisionRequest, Subject
from youthmode.server.body import parse_json_body
from youthmode.server.caller import caller_key, check_subject, may_see, requires, requires_any
from youthmode.server.caller import request_id as current_request_id
from youthmode.server.problems import ApiProblem, problem_response, request_problem, respond
from youthmode.server.state import ServerState

OPERATIONS = {
    "usage": "recordUsage",
    "purchases": "recordPurchase",
    "reserve": "reservePurchase",
    "commit": "commitPurchase",
    "release": "releasePurchase",
    "subject_usage": "getUsage",
    "guardian": "getGuardian",
    "guardian_update": "updateGuardian",
    "grant": "grantTime",
    "ask": "askForTime",
    "answer": "answerTimeRequest",
    "guardian_log": "getGuardianLog",
}


GUARDIAN = "/v1/subjects/<subject_id>/guardian"
M = TypeVar("M", bound=BaseModel)


def _body(model: type[M], optional: bool = False) -> M:
    """The JSON body validated by ``model``; unknown fields and wrong types are a 400."""
    body = parse_json_body() if (request.get_data(cache=True) or not optional) else {}
    if not isinstance(body, dict):
        raise ApiProblem(400, "Invalid request", "the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as err:
        raise request_problem(
            RequestError([request_problem_from(e) for e in err.errors()])
        ) from None


def _translate(err: RequestError) -> ApiProblem:
    if isinstance(err, NotFound):
        return ApiProblem(404, "Not found", str(err), errors=[p.to_dict() for p in err.problems])
    if isinstance(err, LedgerConflict):
        return ApiProblem(409, "Conflict", str(err), errors=[p.to_dict() for p in err.problems])
    if isinstance(err, GuardianRefused):
        return ApiProblem(
            422, "Guardian change refused", str(err), errors=[p.to_dict() for p in err.problems]
        )
    return request_problem(err)


def _actor(given: str | None) -> str:
    actor = given or request.headers.get("X-Actor")
    if not isinstance(actor, str) or not actor:
        raise ApiProblem(
            400,
            "Invalid request",
            "name who makes the change: `actor` in the body or an `X-Actor` header",
            errors=[{"loc": ["actor"], "msg": "required"}],
        )
    return actor[:200]


def _idempotency_key() -> str | None:
    """The caller's `Idempotency-Key` header, for writes that have no id of their own."""
    return request.headers.get("Idempotency-Key")


def blueprint(state: ServerState) -> Blueprint:
    """The ledger and guardian routes of one app with a ledger (``state`` is that app's)."""
    ledger = state.ledger
    assert ledger is not None  # INVARIANT: only registered with a ledger
    bp = Blueprint("ledger", __name__)
    bp.app_errorhandler(StoreOutcomeUnknown)(_on_unknown)
    bp.app_errorhandler(RequestError)(_on_request_error)
    _spending_routes(bp, state, ledger)
    _guardian_routes(bp, ledger)
    _time_routes(bp, ledger)
    return bp


def _on_unknown(err: StoreOutcomeUnknown) -> Response:
    detail = (
        "the ledger took the write but its answer was lost: it may or may not have been "
        "applied; send the same request again (same id or Idempotency-Key) to find out"
    )
    problem = ApiProblem(503, "Outcome unknown", detail)
    return problem_response(problem, {"Retry-After": "1"})


def _on_request_error(err: RequestError) -> Response:
    problem = _translate(err)
    return Response(
        json.dumps(problem.body(), ensure_ascii=False, default=str),
        status=problem.status,
        mimetype="application/problem+json",
    )


def _own(subject_id: str | None, loc: tuple[str, ...] = ("subject_id",)) -> None:
    check_subject(subject_id, loc=loc)


def _spending_routes(bp: Blueprint, state: ServerState, ledger: Ledger) -> None:  # a route table
    """Usage, purchases and reservations."""

    @bp.post("/v1/usage")
    @requires("usage")
    def usage() -> Response:
        body = _body(UsageBody)
        _own(body.subject_id)
        _at_most(len(body.events), state.config.batch_limit)
        return respond(ledger.record_usage(body.subject_id, body.events, body.policy))

    @bp.post("/v1/purchases")
    @requires("usage")
    def purchases() -> Response:
        body = _body(PurchaseBody)
        _own(body.subject_id)
        return respond(ledger.record_purchase(body.model_dump(exclude_none=True)))

    @bp.post("/v1/purchases/reserve")
    @requires("usage")
    def reserve() -> Response:
        started = time.perf_counter()
        body = _body(ReserveBody)
        _own(body.subject_id)
        decided: list[DecisionRequest] = []
        decision, reservation = ledger.reserve(body.model_dump(exclude_none=True), decided.append)
        withheld = () if may_see("guardian") else ("guardian",)
        out = redacted(decision, withheld).model_dump(mode="json")
        if reservation is not None:
            out["reservation"] = reservation
        state.metrics.record_decision(decision.policy.id, decision.effect, decision.reason_codes)
        elapsed = time.perf_counter() - started
        _log_reservation(state, body, decision, elapsed, decided[0] if decided else None)
        return respond(out)

    @bp.post("/v1/purchases/<order_id>/commit")
    @requires("usage")
    def commit(order_id: str) -> Response:
        return respond(ledger.commit(order_id, owner_of(order_id)))

    @bp.post("/v1/purchases/<order_id>/release")
    @requires("usage")
    def release(order_id: str) -> Response:
        return respond(ledger.release(order_id, owner_of(order_id)))

    def owner_of(order_id: str) -> str:
        """The subject the order belongs to, checked against the caller's tenant."""
        subject = ledger.order_subject(order_id, _body(OrderBody, optional=True).subject_id)
        _own(subject)
        return subject

    @bp.get("/v1/subjects/<subject_id>/usage")
    @requires("usage")
    def subject_usage(subject_id: str) -> Response:
        _own(subject_id, ("subject_id",))
        return respond(ledger.totals(subject_id, request.args.get("policy")))


def _at_most(events: int, limit: int) -> None:
    if events > limit:
        raise ApiProblem(413, "Content too large", f"{events} events; the limit is {limit}")


def _log_reservation(
    state: ServerState,
    body: ReserveBody,
    decision: Decision,
    elapsed: float,
    decided: DecisionRequest | None,
) -> None:
    """Log the request as decided (``decided``: with the ledger's usage and guardian settings,
    which a replay needs); an existing order's, rebuilt from the body (its spend is in facts)."""
    if not state.decision_log.enabled:
        return
    logged = decided or DecisionRequest(
        policy=decision.policy.id,
        subject=(body.subject or Subject()).model_copy(update={"id": body.subject_id}),
        action=body.action,
        at=decision.facts.local_time,
        resource={**(body.resource or {}), "amount": body.amount},
    )
    key = caller_key()
    state.decision_log.record(
        logged,
        decision,
        elapsed,
        request_id=current_request_id(),
        key_id=key.id if key is not None else None,
    )


def _guardian_routes(bp: Blueprint, ledger: Ledger) -> None:  # a route table
    """Guardian settings and the log of their changes."""

    @bp.get(GUARDIAN)
    @requires("guardian")
    def guardian(subject_id: str) -> Response:
        _own(subject_id)
        return respond(ledger.guardian(subject_id, request.args.get("policy")))

    @bp.patch(GUARDIAN)
    @requires("guardian")
    def guardian_update(subject_id: str) -> Response:
        _own(subject_id)
        body = _body(GuardianPatch)
        changes = body.settings.model_dump(exclude_unset=True)
        return respond(
            ledger.update_guardian(
                subject_id, changes, _actor(body.actor), body.policy, _idempotency_key()
            )
        )

    @bp.get(GUARDIAN + "/log")
    @requires("guardian")
    def guardian_log(subject_id: str) -> Response:
        _own(subject_id)
        return respond({"subject_id": subject_id, "changes": ledger.guardian_log(subject_id)})


def _time_routes(bp: Blueprint, ledger: Ledger) -> None:  # a route table
    """Extra time: the guardian's grants, the child's requests and the guardian's answers."""

    @bp.post(GUARDIAN + "/grants")
    @requires("guardian")
    def grant(subject_id: str) -> Response:
        _own(subject_id)
        body = _body(GrantBody)
        return respond(
            ledger.grant_time(
                subject_id, body.minutes, _actor(body.actor), body.policy, _idempotency_key()
            )
        )

    @bp.post(GUARDIAN + "/requests")
    @requires_any("usage", "guardian")
    def ask(subject_id: str) -> Response:
        _own(subject_id)
        body = _body(AskBody, optional=True)
        asked = ledger.ask_for_time(
            subject_id, body.minutes, body.note, body.policy, _idempotency_key()
        )
        return respond(asked, 201)

    @bp.post(GUARDIAN + "/requests/<request_id>/answer")
    @requires("guardian")
    def answer(subject_id: str, request_id: str) -> Response:
        _own(subject_id)
        body = _body(AnswerBody)
        return respond(
            ledger.answer_request(
                subject_id,
                request_id,
                body.answer,
                _actor(body.actor),
                body.policy,
                _idempotency_key(),
            )
        )
