"""The Flask decision API (CONTRACT section 4): decisions, policies, reload, health, metrics.

`create_app(config)` builds the app. Every error is RFC 9457 problem+json; no input produces a
500. Bodies are parsed with amounts as Decimal (never float). Each decision is logged as one
JSON line and counted in Prometheus metrics.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from youthmode.auth import KeyRing, load_keys
from youthmode.config import ServerConfig
from youthmode.decision_log import DecisionLog
from youthmode.engine import Engine, new_decision_id
from youthmode.errors import RequestError, did_you_mean
from youthmode.ledger import Ledger, StoreUnavailable, open_store
from youthmode.ledger.service import LedgerSettings
from youthmode.metrics import DecisionTally, Metrics
from youthmode.model import Decision, DecisionRequest
from youthmode.openapi import PROBLEM, build_openapi
from youthmode.reloader import PolicyHolder, ReloadResult

log = logging.getLogger("youthmode.api")
F = TypeVar("F", bound=Callable[..., Any])
PROBLEM_BASE = "urn:youthmode:problem:"


class ApiProblem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def body(self) -> dict[str, Any]:
        slug = self.title.lower().replace(" ", "-")
        return {
            "type": PROBLEM_BASE + slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **{k: v for k, v in self.extra.items() if v is not None},
        }


def problem_response(problem: ApiProblem, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(problem.body(), ensure_ascii=False, default=str)
    return Response(body, status=problem.status, mimetype=PROBLEM, headers=headers)


def request_problem(err: RequestError, index: int | None = None) -> ApiProblem:
    known = next((p.extra.get("known") for p in err.problems if p.extra.get("known")), None)
    return ApiProblem(
        400,
        "Invalid request",
        str(err),
        index=index,
        known=known,
        errors=[{k: v for k, v in p.to_dict().items() if k != "known"} for p in err.problems],
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


# One decoder for every body: `json.loads` with hooks builds a new one per call.
JSON_BODY = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def parse_json_body() -> Any:
    """The request body as JSON with numbers that have a fraction kept as Decimal."""
    exact = request.environ.get("CONTENT_TYPE") == "application/json"  # skips header parsing
    if (
        not exact
        and request.mimetype != "application/json"
        and not request.mimetype.endswith("+json")
    ):
        raise ApiProblem(
            415,
            "Unsupported media type",
            f"send `Content-Type: application/json`, not `{request.mimetype or 'none'}`",
        )
    raw = request.get_data(cache=False)
    try:
        # As `json.loads` reads bytes: UTF-8, -16 or -32, told apart by the first bytes.
        return JSON_BODY.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiProblem(400, "Malformed JSON", f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise ApiProblem(400, "Malformed JSON", "the body is nested too deeply") from None


def create_app(
    config: ServerConfig | None = None,
    *,
    engine: Engine | None = None,
    keys: KeyRing | None = None,
) -> Flask:
    """The decision API. Pass ``engine`` to serve an engine you built (tests, embedding)."""
    config = config or ServerConfig.from_env()
    app = Flask("youthmode")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    holder = PolicyHolder(config.policies, config.state_dir, config.default_policy)
    if engine is not None:
        holder.engine = engine
    if keys is None and config.keys_file:
        keys = KeyRing(load_keys(config.keys_file))
    if keys is None:
        log.warning(
            "DEVELOPMENT MODE: no API keys configured (YOUTHMODE_KEYS_FILE); every "
            "caller has every scope. Do not expose this server."
        )
    if config.log_key is None and config.decision_log != "off":
        log.warning(
            "no YOUTHMODE_LOG_KEY: decision-log pseudonyms use a random key and will "
            "not match across processes or restarts"
        )
    log_key = (config.log_key or "").encode() or secrets.token_bytes(32)
    decision_log = DecisionLog(config.decision_log, log_key)
    metrics = Metrics()
    ledger = None
    if config.store_url is not None:
        ledger = Ledger(
            lambda: holder.engine,
            open_store(config.store_url, read_deadline=config.store_deadline_ms / 1000),
            settings=LedgerSettings(
                session_gap=config.session_gap_seconds,
                hold_seconds=config.hold_seconds,
                accept_past_days=config.accept_past_days,
                max_skew=config.max_skew_seconds,
            ),
        )
    state = _State(config, holder, keys, decision_log, metrics, ledger)
    state.publish_policies()
    holder.on_reload.append(state.after_reload)
    app.extensions["youthmode"] = state
    holder.start_polling(config.poll_seconds)
    _register_errors(app)
    _register_routes(app, state)
    if ledger is not None:
        from youthmode.api_ledger import register_ledger_routes

        register_ledger_routes(app, state)
    return app


class _State:
    def __init__(
        self,
        config: ServerConfig,
        holder: PolicyHolder,
        keys: KeyRing | None,
        decision_log: DecisionLog,
        metrics: Metrics,
        ledger: Ledger | None = None,
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.holder = holder
        self.keys = keys
        self.decision_log = decision_log
        self.metrics = metrics
        self.signal_master = False
        self._published: list[tuple[str, str, str]] = []
        self._openapi: tuple[str, dict[str, Any]] | None = None

    def after_reload(self, result: ReloadResult) -> None:
        """Every reload, whatever started it (admin, poll), is counted and published."""
        self.metrics.reloads.labels("ok" if result.ok else "rejected", result.source).inc()
        if result.ok:
            self.publish_policies()

    def publish_policies(self) -> None:
        current = [(p.id, p.version, p.digest) for p in self.holder.engine.policies.values()]
        self.metrics.set_policies(current, self._published)
        self._published = current

    def openapi(self) -> dict[str, Any]:
        digest = self.holder.digest
        if self._openapi is None or self._openapi[0] != digest:
            actions = sorted({a for p in self.holder.engine.policies.values() for a in p.actions})
            self._openapi = (digest, build_openapi(actions, ledger=self.ledger is not None))
        return self._openapi[1]


def requires(scope: str) -> Callable[[F], F]:
    return requires_any(scope)


def requires_any(*scopes: str) -> Callable[[F], F]:
    """The caller's key must carry one of ``scopes`` (any key in development mode)."""
    scope = " or ".join(f"`{s}`" for s in scopes)

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            state: _State = current_app.extensions["youthmode"]
            if state.keys is not None:
                header = request.headers.get("Authorization", "")
                kind, _, secret = header.partition(" ")
                if kind.lower() != "bearer" or not secret.strip():
                    raise ApiProblem(401, "Unauthorized", "send `Authorization: Bearer <api key>`")
                key = state.keys.find(secret.strip())
                if key is None:
                    raise ApiProblem(401, "Unauthorized", "unknown API key")
                if not key.scopes.intersection(scopes):
                    raise ApiProblem(403, "Forbidden", f"key `{key.id}` lacks scope {scope}")
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def on_problem(err: ApiProblem) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        return problem_response(err, headers)

    @app.errorhandler(StoreUnavailable)
    def on_store(err: StoreUnavailable) -> Response:
        log.warning("store unavailable: %s", err)
        detail = "the ledger cannot be reached right now; nothing was changed, try again"
        return problem_response(ApiProblem(503, "Store unavailable", detail), {"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def on_http(err: HTTPException) -> Response:
        status = err.code or 500
        titles = {
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
            415: "Unsupported media type",
        }
        detail = {
            404: f"no endpoint at `{request.path}`",
            405: f"`{request.method}` is not allowed on `{request.path}`",
            413: "the body is larger than the server accepts",
        }.get(status, err.description or "")
        headers = {}
        if status == 405 and err.get_response().headers.get("Allow"):
            headers["Allow"] = err.get_response().headers["Allow"]
        title = titles.get(status, err.name)
        return problem_response(ApiProblem(status, title, detail), headers)

    @app.errorhandler(Exception)
    def on_unexpected(err: Exception) -> Response:  # pragma: no cover - a bug, logged loudly
        trace_id = new_decision_id(__import__("datetime").datetime.now())
        log.exception("unexpected error (trace %s)", trace_id)
        return problem_response(
            ApiProblem(500, "Internal error", f"unexpected error; trace id {trace_id}")
        )


def _register_routes(app: Flask, state: _State) -> None:
    def respond(data: Any, status: int = 200) -> Response:
        return Response(
            json.dumps(data, ensure_ascii=False, default=str),
            status=status,
            mimetype="application/json",
        )

    def explain_flag() -> bool:
        if not request.query_string:  # the common case: skip parsing the query string
            return False
        return request.args.get("explain", "false").lower() in ("1", "true", "yes")

    def without_ledger(body: Any) -> bool:
        """Is this a JSON object the ledger has nothing to add to (no subject id)?"""
        if type(body) is not dict:
            return False
        if state.ledger is None:
            return True
        subject = body.get("subject", {})
        return type(subject) is dict and subject.get("id") is None

    def decide_one(
        engine: Engine,
        body: Any,
        explain: bool,
        batch_id: str | None = None,
        tally: DecisionTally | None = None,
    ) -> str:
        started = time.perf_counter()
        decision: Decision
        if not explain and without_ledger(body):
            # The engine reads plain JSON straight into facts; the request model is built
            # only when something needs it (the decision log).
            decision = engine.decide(body)
            text = decision.model_dump_json()
            elapsed = time.perf_counter() - started
            _account(state, lambda: engine.parse(body), decision, elapsed, batch_id, tally)
            return text
        parsed = engine.parse(body)
        filled, mode = parsed, None
        if state.ledger is not None:
            filled, mode = state.ledger.prepare(parsed, engine)
        degraded, unavailable = mode == "degraded", mode == "unavailable"
        if explain and not unavailable:
            result = engine.explain(filled)
            decision = result.decision
            decision.degraded = degraded
            out = decision.model_dump(mode="json")
            out["trace"] = [t.model_dump(mode="json") for t in result.trace]
            text = json.dumps(out, ensure_ascii=False)
        else:
            decision = engine.decide(filled, degraded=degraded, store_unavailable=unavailable)
            text = decision.model_dump_json()
        elapsed = time.perf_counter() - started
        _account(state, lambda: filled, decision, elapsed, batch_id, tally)
        return text

    @app.post("/v1/decisions")
    @requires("decide")
    def decisions() -> Response:
        body = parse_json_body()
        try:
            text = decide_one(state.holder.engine, body, explain_flag())
        except RequestError as err:
            raise request_problem(err) from None
        return Response(text, mimetype="application/json")

    @app.post("/v1/decisions/batch")
    @requires("decide")
    def batch() -> Response:
        started = time.perf_counter()
        body = parse_json_body()
        items = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or set(body) - {"requests"}:
            raise ApiProblem(
                400,
                "Invalid request",
                'the body must be {"requests": [...]}, a list of decision requests',
                errors=[{"loc": ["requests"], "msg": "a list is required"}],
            )
        if len(items) > state.config.batch_limit:
            raise ApiProblem(
                413,
                "Content too large",
                f"{len(items)} requests; the limit is {state.config.batch_limit}",
            )
        engine = state.holder.engine
        batch_id = new_decision_id(engine_now())
        explain = explain_flag()
        parts = []
        tally = DecisionTally()
        for index, item in enumerate(items):
            try:
                parts.append(decide_one(engine, item, explain, batch_id, tally))
            except RequestError as err:
                parts.append(
                    json.dumps(request_problem(err, index).body(), ensure_ascii=False, default=str)
                )
        state.metrics.record_tally(tally)
        state.metrics.batch_size.observe(len(items))
        state.metrics.observe_latency("batch", time.perf_counter() - started)
        text = '{"batch_id":"' + batch_id + '","decisions":[' + ",".join(parts) + "]}"
        return Response(text, mimetype="application/json")

    @app.get("/v1/policies")
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

    @app.get("/v1/policies/<policy_id>")
    @requires("decide")
    def policy(policy_id: str) -> Response:
        engine = state.holder.engine
        found = engine.policies.get(policy_id)
        if found is None:
            raise ApiProblem(
                404,
                "Not found",
                f"no policy `{policy_id}`"
                + (f"; {hint}" if (hint := did_you_mean(policy_id, engine.policies)) else ""),
                known=sorted(engine.policies),
            )
        return respond(
            {
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
        )

    @app.post("/v1/admin/reload")
    @requires("admin")
    def reload() -> Response:
        result = reload_policies(state, "admin")
        if not result.ok:
            raise ApiProblem(
                422,
                "Policy files rejected",
                f"{len(result.problems)} problem(s); still serving {result.digest}",
                problems=[p.to_dict() for p in result.problems],
            )
        return respond(result.to_dict())

    @app.get("/healthz")
    def healthz() -> Response:
        return respond({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        holder = state.holder
        stale = holder.stale()
        ready = not (stale and state.config.not_ready_when_stale)
        engine = holder.engine
        year = engine_now().year
        calendar = [
            {
                "policy": p.id,
                "country": p.calendar.country,
                "year": row.year,
                "official": row.official,
                "source": row.source,
            }
            for p in engine.policies.values()
            if p.calendar.country
            for row in p.calendar.coverage([year, year + 1])
        ]
        body = {
            "status": "ready" if ready else "stale",
            "ready": ready,
            "mode": "development" if state.keys is None else "production",
            "digest": holder.digest,
            "loaded_at": holder.loaded_at.isoformat(),
            "source": holder.source,
            "stale": stale,
            "policies": [
                {"id": p.id, "version": p.version, "digest": p.digest}
                for p in engine.policies.values()
            ],
            "last_reload": holder.last_reload(),
            "calendar": calendar,
            "store": _store_status(state),
        }
        return respond(body, 200 if ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        data, content_type = state.metrics.exposition()
        return Response(data, content_type=content_type)

    @app.get("/openapi.json")
    def openapi() -> Response:
        return respond(state.openapi())

    @app.get("/docs")
    def docs() -> Response:
        page = resources.files("youthmode").joinpath("static/docs.html").read_text("utf-8")
        return Response(page, mimetype="text/html")


def _store_status(state: _State) -> dict[str, Any] | None:
    if state.ledger is None:
        return None
    store = state.ledger.store
    try:
        store.ping()
    except StoreUnavailable as err:
        return {"backend": store.backend, "ok": False, "error": str(err)}
    return {"backend": store.backend, "ok": True}


def engine_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _account(
    state: _State,
    parsed: Callable[[], DecisionRequest],
    decision: Decision,
    elapsed: float,
    batch_id: str | None,
    tally: DecisionTally | None,
) -> None:
    if tally is not None:
        tally.add(decision.policy.id, decision.effect, decision.reason_codes)
    else:
        state.metrics.record_decision(decision.policy.id, decision.effect, decision.reason_codes)
    if batch_id is None:
        state.metrics.observe_latency("decision", elapsed)
    if state.decision_log.enabled:
        state.decision_log.record(parsed(), decision, elapsed, batch_id)


def reload_policies(state: _State, source: str) -> ReloadResult:
    result = state.holder.reload(source)
    if result.ok and state.signal_master:
        # Under gunicorn, the master restarts every worker gracefully; they load the files
        # this worker just proved good. In-flight requests finish first.
        os.kill(os.getppid(), signal.SIGHUP)
    return result
