"""The Flask decision API (CONTRACT section 4): decisions, policies, reload, health, metrics.

`create_app(config)` builds the app. Every error is RFC 9457 problem+json; no input produces a
500. Bodies are parsed with amounts as Decimal (never float). Each decision is logged as one
JSON line and counted in Prometheus metrics.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from youthmode.auth import ApiKey, KeyRing, load_keys
from youthmode.config import ServerConfig
from youthmode.decision import redacted, redacted_trace
from youthmode.decision_log import DecisionLog
from youthmode.engine import Engine, new_decision_id
from youthmode.errors import RequestError, did_you_mean
from youthmode.ledger import Ledger, StoreUnavailable, open_store
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


# Limits on every JSON body, whatever the endpoint (docs/api.md "Limits"). Fields add their own.
MAX_DEPTH = 32  # objects and arrays nested in each other, the body itself counting as one
MAX_NUMBER_CHARS = 40  # a number as written, sign and exponent included
MAX_EXPONENT = 40  # |x| < 10^41, and no non-zero digit finer than 10^-40
# A `\u` escape of a UTF-16 surrogate (D800-DFFF): only these can make a lone surrogate.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class NumberOutOfRange(ValueError):
    """A JSON number beyond MAX_NUMBER_CHARS or MAX_EXPONENT (raised while decoding)."""


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:  # also spares `int` the 4300-digit ValueError
        raise NumberOutOfRange(text)
    return int(text)


def _json_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberOutOfRange(text)
    value = Decimal(text)
    if not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise NumberOutOfRange(text)  # 1E+999999999 would overflow the first sum it enters
    return value


class _Oversized(str):
    """A number out of range, kept as its text so that its place can be named."""


def _mark_int(text: str) -> Any:
    return _Oversized(text) if len(text) > MAX_NUMBER_CHARS else 0


def _mark_decimal(text: str) -> Any:
    try:
        return _json_decimal(text)
    except NumberOutOfRange:
        return _Oversized(text)


# One decoder for every body: `json.loads` with hooks builds a new one per call.
JSON_BODY = json.JSONDecoder(
    parse_float=_json_decimal, parse_int=_json_int, parse_constant=_reject_constant
)
_MARKING = json.JSONDecoder(
    parse_float=_mark_decimal, parse_int=_mark_int, parse_constant=_reject_constant
)
Loc = list[str | int]


def parse_json_body() -> Any:
    """The request body as JSON with numbers that have a fraction kept as Decimal.

    A body breaking a limit (depth, a number's size, a lone UTF-16 surrogate in any string or
    key, which no response could ever encode) is a 400 naming the field. The checks that walk
    the decoded body run only when its text could break them: a plain decision pays two
    substring counts.
    """
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
    text, surrogates = _body_text(request.get_data(cache=False))
    try:
        body = JSON_BODY.decode(text)
    except NumberOutOfRange as err:
        _reject(_locate(_decode_marked(text), _oversized), "number_out_of_range")
        raise ApiProblem(400, "Invalid request", f"the number `{err}` is out of range") from None
    except ValueError as err:
        raise ApiProblem(400, "Malformed JSON", f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise ApiProblem(
            400, "Malformed JSON", f"the body is nested too deeply (the limit is {MAX_DEPTH})"
        ) from None
    if surrogates:
        _reject(_locate(body, _lone_surrogate), "invalid_unicode")
    elif text.count("{") + text.count("[") > MAX_DEPTH and not _shallow_body(body):
        _reject(_locate(body, None), "too_deep")  # (fewer containers cannot nest too deeply)
    return body


def _shallow_body(body: Any) -> bool:
    return not isinstance(body, dict | list) or _shallow(body, MAX_DEPTH - 1)


def _shallow(value: Any, room: int) -> bool:
    """Do the containers in ``value`` nest at most ``room`` levels further? (The fast check
    for batches, which always hold many containers; `_locate` then names the place.)"""
    for child in value.values() if type(value) is dict else value:
        kind = type(child)
        if (kind is dict or kind is list) and (room == 0 or not _shallow(child, room - 1)):
            return False
    return True


def _body_text(raw: bytes) -> tuple[str, bool]:
    """The body as text (as `json.loads` reads bytes: UTF-8, -16 or -32), and whether it
    may hold a lone surrogate: from a `\\udXXX` escape, or bytes that encode one."""
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        try:  # encoded surrogates decode, to be named by their place in the body below
            return raw.decode(encoding, "surrogatepass"), True
        except UnicodeDecodeError as err:
            raise ApiProblem(
                400, "Malformed JSON", f"the body is not valid {encoding}: {err}"
            ) from None
    return text, "\\u" in text and SURROGATE_ESCAPE.search(text) is not None


def _decode_marked(text: str) -> Any:
    try:
        return _MARKING.decode(text)
    except (ValueError, RecursionError) as err:
        raise ApiProblem(400, "Malformed JSON", f"the body is not valid JSON: {err}") from None


def _oversized(value: Any) -> str | None:
    if type(value) is not _Oversized:
        return None
    shown = value if len(value) <= 24 else value[:20] + "..."
    return (
        f"the number `{shown}` is out of range: at most {MAX_NUMBER_CHARS} characters and "
        f"an exponent within ±{MAX_EXPONENT}"
    )


def _lone_surrogate(value: Any) -> str | None:
    if type(value) is not str:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode: a lone UTF-16 surrogate (e.g. `\\ud800`) is not a character"
    return None


def _locate(
    value: Any, bad: Callable[[Any], str | None] | None, depth: int = 1
) -> tuple[Loc, str] | None:
    """The path to the first place that nests too deeply or that ``bad`` names, and why."""
    if type(value) is dict:
        pairs: Iterable[tuple[Any, Any]] = value.items()
    elif type(value) is list:
        pairs = enumerate(value)
    else:
        why = bad(value) if bad is not None else None
        return ([], why) if why else None
    if depth > MAX_DEPTH:
        return [], f"nested more than {MAX_DEPTH} levels deep (the limit)"
    for key, child in pairs:
        if bad is not None and (why := bad(key)):
            return [key], f"the object key is {why}"
        if bad is None and type(child) is not dict and type(child) is not list:
            continue  # the depth alone: scalars cannot nest
        found = _locate(child, bad, depth + 1)
        if found is not None:
            found[0].insert(0, key)
            return found
    return None


def _reject(found: tuple[Loc, str] | None, code: str) -> None:
    if found is None:
        return
    loc, msg = found
    # A lone surrogate in a key would break the answer itself: show it escaped.
    shown: Loc = [
        p if not isinstance(p, str) else p.encode("utf-8", "backslashreplace").decode() for p in loc
    ]
    where = ".".join(str(p) for p in shown) or "body"
    raise ApiProblem(
        400,
        "Invalid request",
        f"{where}: {msg}",
        errors=[{"loc": shown, "msg": msg, "code": code}],
    )


# -- who is asking: request ids, keys, tenants ------------------------------------------------
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID_KEY = "youthmode.request_id"  # kept in the WSGI environ: cheaper than `g` on every request
_ids = itertools.count()
_id_prefix = secrets.token_hex(8)


def _new_id_prefix() -> None:
    global _id_prefix
    _id_prefix = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_id_prefix)  # forked workers must not repeat ids


def request_id() -> str:
    """This request's id: the caller's `X-Request-Id` when it is 1-128 characters of
    ``[A-Za-z0-9._:-]``, else a new one (32 hex digits: a random prefix per process and a
    counter, unique without a system call per request). Every response carries it back."""
    environ = request.environ
    found: str | None = environ.get(_ID_KEY)
    if found is None:
        given = environ.get("HTTP_X_REQUEST_ID")
        if given is None or not REQUEST_ID.fullmatch(given):
            given = f"{_id_prefix}{next(_ids) & 0xFFFF_FFFF_FFFF_FFFF:016x}"
        found = environ[_ID_KEY] = given
    return found


def caller_key() -> ApiKey | None:
    """The API key of this request: None in development mode (every caller has every scope)
    or when no known key was sent (`requires` has then already answered 401)."""
    if "api_key" not in g:
        state: _State = current_app.extensions["youthmode"]
        g.api_key = None if state.keys is None else _presented_key(state.keys)
    key: ApiKey | None = g.api_key
    return key


def _presented_key(keys: KeyRing) -> ApiKey | None:
    secret = _bearer_secret()
    return keys.find(secret) if secret else None


def _bearer_secret() -> str | None:
    kind, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() or None if kind.lower() == "bearer" else None


def may_see(scope: str) -> bool:
    """Does the caller hold ``scope``? (Everyone does in development mode.)"""
    state: _State = current_app.extensions["youthmode"]
    if state.keys is None:
        return True
    key = caller_key()
    return key is not None and scope in key.scopes


def check_subject(
    subject_id: str | None, *, loc: tuple[str | int, ...] = ("subject", "id")
) -> None:
    """A key bound to a tenant (`subjects = "acme:"` in the keys file) may only decide, read
    or change subjects whose id starts with its prefix: a 403 problem otherwise. No subject
    id (a decision about an anonymous subject) is always allowed."""
    if subject_id is None:
        return
    key = caller_key()
    if key is not None and not key.may_act_on(subject_id):
        msg = f"outside the subjects of key `{key.id}` (ids starting with `{key.subjects}`)"
        raise ApiProblem(
            403,
            "Forbidden",
            f"key `{key.id}` may only act on subjects whose id starts with `{key.subjects}`",
            errors=[{"loc": list(loc), "msg": msg, "code": "foreign_subject"}],
        )


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
            settings=config.ledger_settings(),
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
    """The caller's key must carry one of ``scopes`` (any key in development mode). Then the
    path and query parameters must be valid UTF-8: checked here, only where there are any."""
    scope = " or ".join(f"`{s}`" for s in scopes)

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            state: _State = current_app.extensions["youthmode"]
            if state.keys is not None:
                g.api_key = _authenticated(state.keys, scopes, scope)
            if kwargs:
                _check_path(kwargs)
            if request.query_string:
                _check_query()
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def _authenticated(keys: KeyRing, scopes: tuple[str, ...], wanted: str) -> ApiKey:
    secret = _bearer_secret()
    if secret is None:
        raise ApiProblem(401, "Unauthorized", "send `Authorization: Bearer <api key>`")
    key = keys.find(secret)
    if key is None:
        raise ApiProblem(401, "Unauthorized", "unknown API key")
    if not key.scopes.intersection(scopes):
        raise ApiProblem(403, "Forbidden", f"key `{key.id}` lacks scope {wanted}")
    return key


NOT_UTF8 = "not valid UTF-8: percent-encoded bytes must spell UTF-8 text"


def _check_path(params: dict[str, Any]) -> None:
    """Werkzeug decodes bytes that are not UTF-8 in a path (`%FF`, or `%ED%A0%80`, an
    encoded surrogate) to U+FFFD; refuse them rather than act on a subject id nobody sent.
    (The raw bytes are gone by now under some servers: U+FFFD itself is refused too.)"""
    names = [k for k, v in params.items() if isinstance(v, str) and "\ufffd" in v]
    if names:
        _bad_parameters(
            "path",
            names,
            NOT_UTF8 + " (U+FFFD, which stands for bytes that are not, is refused too)",
        )


def _check_query() -> None:
    raw = request.query_string
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:
        names = []
        for part in raw.split(b"&"):  # `&` is ASCII: never inside an encoded character
            try:
                unquote_to_bytes(part).decode("utf-8")
            except UnicodeError:
                name = unquote_to_bytes(part.partition(b"=")[0])
                names.append(name.decode("utf-8", "backslashreplace"))
        _bad_parameters("query", names, NOT_UTF8)


def _bad_parameters(where: str, names: list[str], msg: str) -> None:
    raise ApiProblem(
        400,
        "Invalid request",
        f"{where} parameter `{names[0]}` is {msg}",
        errors=[{"loc": [where, n], "msg": msg, "code": "invalid_unicode"} for n in names],
    )


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
        trace_id = request_id()  # the X-Request-Id of the answer: one id to grep the logs for
        log.exception("unexpected error (trace %s)", trace_id)
        return problem_response(
            ApiProblem(500, "Internal error", f"unexpected error; trace id {trace_id}")
        )

    @app.after_request
    def tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        return response


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
        if state.keys is not None and state.keys.tenants:
            _check_tenant(body)
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
        withheld: tuple[str, ...] = ()
        if state.ledger is not None:
            filled, mode = state.ledger.prepare(parsed, engine)
            withheld = _withheld(parsed)
        degraded, unavailable = mode == "degraded", mode == "unavailable"
        if explain and not unavailable:
            result = engine.explain(filled)
            decision = result.decision
            decision.degraded = degraded
            out = redacted(decision, withheld).model_dump(mode="json")
            trace = redacted_trace(result.trace, withheld)
            out["trace"] = [t.model_dump(mode="json") for t in trace]
            text = json.dumps(out, ensure_ascii=False)
        else:
            decision = engine.decide(filled, degraded=degraded, store_unavailable=unavailable)
            text = redacted(decision, withheld).model_dump_json()
        elapsed = time.perf_counter() - started
        _account(state, lambda: filled, decision, elapsed, batch_id, tally)  # unredacted
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
            except ApiProblem as problem:  # a subject outside the key's tenant: this item only
                problem.extra["index"] = index
                parts.append(json.dumps(problem.body(), ensure_ascii=False, default=str))
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
        status = "ready" if ready else "stale"
        if state.keys is not None and caller_key() is None:
            # Probes need no key and get only this; the details (the store's address in its
            # error, policies, reload problems) are for a caller with any valid key.
            return respond({"status": status, "ready": ready}, 200 if ready else 503)
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
            "status": status,
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


def _check_tenant(body: Any) -> None:
    """The tenant check of a decision (batch item) body, before anything else reads it."""
    key = caller_key()
    if key is None or key.subjects is None:
        return
    subject = body.get("subject") if type(body) is dict else None
    subject_id = subject.get("id") if type(subject) is dict else None
    check_subject(subject_id if isinstance(subject_id, str) else None)


def _withheld(asked: DecisionRequest) -> tuple[str, ...]:
    """The scopes whose facts this caller may not see in a decision about ``asked``.

    Only a request with a subject id reads the ledger. What is withheld depends on the
    request and the key alone, never on what the ledger holds, so that its absence tells
    nothing either. Usage the caller sent itself is its own.
    """
    if asked.subject.id is None:
        return ()
    withheld = []
    if asked.usage is None and not may_see("usage"):
        withheld.append("usage")
    if not may_see("guardian"):
        withheld.append("guardian")
    return tuple(withheld)


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
        key = caller_key()
        state.decision_log.record(
            parsed(),
            decision,
            elapsed,
            batch_id,
            request_id=request_id(),
            key_id=key.id if key is not None else None,
        )


def reload_policies(state: _State, source: str) -> ReloadResult:
    result = state.holder.reload(source)
    if result.ok and state.signal_master:
        # Under gunicorn, the master restarts every worker gracefully; they load the files
        # this worker just proved good. In-flight requests finish first.
        os.kill(os.getppid(), signal.SIGHUP)
    return result
