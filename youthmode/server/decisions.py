"""The decisions blueprint: `/v1/decisions`, `/v1/decisions/batch` and `/v1/policies`.

A plain JSON decision about an anonymous subject (or one served without a ledger) goes straight
from the body to the engine; anything else is parsed, filled from the ledger and decided by
the one "decide with the ledger" use case (`youthmode.ledger.deciding`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from youthmode.decision import redacted, redacted_trace
from youthmode.decision_json import dumps
from youthmode.engine import Engine, new_decision_id
from youthmode.errors import RequestError, did_you_mean
from youthmode.ledger import deciding
from youthmode.model import Decision, DecisionRequest
from youthmode.server.body import parse_json_body
from youthmode.server.caller import (
    Caller,
    check_tenant,
    current_caller,
    requires,
    withheld,
)
from youthmode.server.logged_request import plain_request
from youthmode.server.metrics import DecisionTally
from youthmode.server.problems import ApiProblem, request_problem, respond
from youthmode.server.state import ServerState

# The OpenAPI operationId of each view (the blueprint's name is the operation's tag).
OPERATIONS = {
    "decide": "decide",
    "batch": "decideBatch",
    "policies": "listPolicies",
    "policy": "getPolicy",
}


def explain_flag() -> bool:
    if not request.query_string:  # the common case: skip parsing the query string
        return False
    return request.args.get("explain", "false").lower() in ("1", "true", "yes")


class Decider:
    """Decides one request body (a decision, or one item of a batch) and accounts for it."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def without_ledger(self, body: Any) -> bool:
        """Is this a JSON object the ledger has nothing to add to (no subject id)?"""
        if type(body) is not dict:
            return False
        if self.state.ledger is None:
            return True
        subject = body.get("subject", {})
        return type(subject) is dict and subject.get("id") is None

    def decide_one(
        self,
        engine: Engine,
        body: Any,
        explain: bool,
        batch_id: str | None = None,
        tally: DecisionTally | None = None,
        caller: Caller | None = None,
    ) -> bytes:
        """The decision on ``body`` as JSON in UTF-8, redacted for the caller's scopes.
        (``caller``: who asked, when not the current Flask request's caller.)"""
        started = time.perf_counter()
        state = self.state
        if state.keys is not None and state.keys.tenants:
            check_tenant(body)
        if not explain and self.without_ledger(body):
            # The engine reads plain JSON straight into facts, and so does the decision log:
            # the request model is built only for a body that is not plain.
            decision = engine.decide(body)
            text = dumps(decision)
            elapsed = time.perf_counter() - started
            self.account(
                lambda: _logged(engine, body), decision, elapsed, batch_id, tally, caller, text
            )
            return text
        parsed = engine.parse(body)
        done = deciding.decide(engine, state.ledger, parsed, explain=explain)
        caller = caller or current_caller()
        hidden = withheld(parsed, caller.scopes) if state.ledger is not None else ()
        out = redacted(done.decision, hidden)
        if done.trace is not None:
            shown = out.model_dump(mode="json")
            shown["trace"] = [t.model_dump(mode="json") for t in redacted_trace(done.trace, hidden)]
            text = _json_bytes(shown)
        else:
            text = dumps(out)
        elapsed = time.perf_counter() - started
        # logged unredacted: the log is the auditors' record, not the caller's answer
        self.account(lambda: done.request, done.decision, elapsed, batch_id, tally, caller)
        return text

    def account(
        self,
        parsed: Callable[[], DecisionRequest | dict[str, Any]],
        decision: Decision,
        elapsed: float,
        batch_id: str | None,
        tally: DecisionTally | None,
        caller: Caller | None = None,
        dumped: bytes | None = None,
    ) -> None:
        """Count the decision in the metrics and write it to the decision log (``dumped``:
        the decision's own JSON (`decision_json.dumps`), when made: the log reads it back)."""
        state = self.state
        if tally is not None:
            tally.add(decision)
        else:
            state.metrics.record_decision(
                decision.policy.id, decision.effect, decision.reason_codes
            )
        if batch_id is None:
            state.metrics.observe_latency("decision", elapsed)
        if state.decision_log.enabled:
            caller = caller or current_caller()
            state.decision_log.record(
                parsed(),
                decision,
                elapsed,
                batch_id,
                request_id=caller.request_id,
                key_id=caller.key_id,
                dumped=dumped,
            )


def blueprint(state: ServerState) -> Blueprint:
    """The decision and policy routes of one app (``state`` is that app's)."""
    bp = Blueprint("decisions", __name__)
    decider = Decider(state)

    @bp.post("/v1/decisions")
    @requires("decide")
    def decide() -> Response:
        body = parse_json_body()
        try:
            text = decider.decide_one(state.holder.engine, body, explain_flag())
        except RequestError as err:
            raise request_problem(err) from None
        return Response(text, mimetype="application/json")

    @bp.post("/v1/decisions/batch")
    @requires("decide")
    def batch() -> Response:
        started = time.perf_counter()
        items = _batch_items(parse_json_body(), state.config.batch_limit)
        engine = state.holder.engine
        batch_id = new_decision_id(state.now())
        explain = explain_flag()
        tally = DecisionTally()
        caller = current_caller()  # once for the batch, not once an item
        parts = [
            _batch_item(decider, engine, item, index, explain, batch_id, tally, caller)
            for index, item in enumerate(items)
        ]
        state.metrics.record_tally(tally)
        state.metrics.batch_size.observe(len(items))
        state.metrics.observe_latency("batch", time.perf_counter() - started)
        text = b'{"batch_id":"%s","decisions":[%s]}' % (batch_id.encode(), b",".join(parts))
        return Response(text, mimetype="application/json")

    @bp.get("/v1/policies")
    @requires("decide")
    def policies() -> Response:
        engine = state.holder.engine
        return respond(
            {
                "default": engine.default_policy,
                "digest": state.holder.digest,
                "policies": [p.summary() for p in engine.policies.values()],
            }
        )

    @bp.get("/v1/policies/<policy_id>")
    @requires("decide")
    def policy(policy_id: str) -> Response:
        return respond(_policy_detail(state.holder.engine, policy_id))

    return bp


def _logged(engine: Engine, body: Any) -> DecisionRequest | dict[str, Any]:
    """The request to log for a decided body: read as plain JSON, or through the model."""
    plain = plain_request(body)
    return plain if plain is not None else engine.parse(body)


def _batch_items(body: Any, limit: int) -> list[Any]:
    items = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(items, list) or set(body) - {"requests"}:
        raise ApiProblem(
            400,
            "Invalid request",
            'the body must be {"requests": [...]}, a list of decision requests',
            errors=[{"loc": ["requests"], "msg": "a list is required"}],
        )
    if len(items) > limit:
        raise ApiProblem(413, "Content too large", f"{len(items)} requests; the limit is {limit}")
    return items


def _batch_item(
    decider: Decider,
    engine: Engine,
    item: Any,
    index: int,
    explain: bool,
    batch_id: str,
    tally: DecisionTally,
    caller: Caller,
) -> bytes:
    """One item's decision, or the problem with it in its place: never a failed batch."""
    try:
        return decider.decide_one(engine, item, explain, batch_id, tally, caller)
    except RequestError as err:
        problem_body = request_problem(err, index).body()
    except ApiProblem as problem:  # a subject outside the key's tenant: this item only
        problem.extra["index"] = index
        problem_body = problem.body()
    return _json_bytes(problem_body)


def _json_bytes(value: Any) -> bytes:
    """``value`` as JSON in UTF-8; a lone surrogate (which UTF-8 cannot hold) escaped."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, default=str).encode("ascii")


def _policy_detail(engine: Engine, policy_id: str) -> dict[str, Any]:
    found = engine.policies.get(policy_id)
    if found is None:
        raise ApiProblem(
            404,
            "Not found",
            f"no policy `{policy_id}`"
            + (f"; {hint}" if (hint := did_you_mean(policy_id, engine.policies)) else ""),
            known=sorted(engine.policies),
        )
    return {
        **found.summary(),
        "groups": {k: sorted(v) for k, v in found.groups.items()},
        "exempt_categories": sorted(found.exempt_categories),
        "rules": [
            {
                "rule": r.ref,
                "kind": r.kind,
                "code": r.code,
                "waivable": r.waivable,
                "bands": sorted(r.bands),
                "actions": sorted(r.actions),
            }
            for r in found.rules
        ],
    }
