"""Who is asking: request ids, API keys and their scopes, tenants, and what a caller may see.

`requires(scope)` guards a view; `caller_key`, `may_see` and `check_subject` answer for the
current request; `withheld` names the scopes whose facts a decision must not show this caller.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_to_bytes

from flask import current_app, g, request

from youthmode.server.auth import ApiKey, KeyRing
from youthmode.server.problems import ApiProblem

if TYPE_CHECKING:
    from youthmode.model import DecisionRequest
    from youthmode.server.state import ServerState

F = TypeVar("F", bound=Callable[..., Any])
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID_KEY = "youthmode.request_id"  # kept in the WSGI environ: cheaper than `g` on every request
_ids = itertools.count()
_id_prefix = secrets.token_hex(8)


def _new_id_prefix() -> None:
    global _id_prefix
    _id_prefix = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_id_prefix)  # forked workers must not repeat ids


@dataclass(frozen=True)
class Caller:
    """Who asked: as the decision log records it, and the scopes the key holds (None in
    development mode: every scope)."""

    request_id: str
    key_id: str | None
    scopes: frozenset[str] | None = None


def current_caller() -> Caller:
    key = caller_key()
    state: ServerState = current_app.extensions["youthmode"]
    if key is None:
        return Caller(request_id(), None, None if state.keys is None else frozenset())
    return Caller(request_id(), key.id, key.scopes)


def request_id() -> str:
    """This request's id: the caller's `X-Request-Id` when it is 1-128 characters of
    ``[A-Za-z0-9._:-]``, else a new one (32 hex digits: a random prefix per process and a
    counter, unique without a system call per request). Every response carries it back."""
    return request_id_of(request.environ)


def request_id_of(environ: dict[str, Any]) -> str:
    """`request_id` of a WSGI environ (kept in it: asked again, the same id)."""
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
        state: ServerState = current_app.extensions["youthmode"]
        g.api_key = None if state.keys is None else _presented_key(state.keys)
    key: ApiKey | None = g.api_key
    return key


def _presented_key(keys: KeyRing) -> ApiKey | None:
    secret = _bearer_secret()
    return keys.find(secret) if secret else None


def _bearer_secret() -> str | None:
    return bearer_secret(request.headers.get("Authorization", ""))


def bearer_secret(authorization: str) -> str | None:
    kind, _, secret = authorization.partition(" ")
    return secret.strip() or None if kind.lower() == "bearer" else None


def may_see(scope: str) -> bool:
    """Does the caller hold ``scope``? (Everyone does in development mode.)"""
    state: ServerState = current_app.extensions["youthmode"]
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


def requires(scope: str) -> Callable[[F], F]:
    return requires_any(scope)


def requires_any(*scopes: str) -> Callable[[F], F]:
    """The caller's key must carry one of ``scopes`` (any key in development mode). Then the
    path and query parameters must be valid UTF-8: checked here, only where there are any."""
    scope = " or ".join(f"`{s}`" for s in scopes)

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            state: ServerState = current_app.extensions["youthmode"]
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


def check_tenant(body: Any) -> None:
    """The tenant check of a decision (batch item) body, before anything else reads it."""
    key = caller_key()
    if key is None or key.subjects is None:
        return
    subject = body.get("subject") if type(body) is dict else None
    subject_id = subject.get("id") if type(subject) is dict else None
    check_subject(subject_id if isinstance(subject_id, str) else None)


def withheld(asked: DecisionRequest, scopes: frozenset[str] | None) -> tuple[str, ...]:
    """The scopes whose facts a caller holding ``scopes`` (None: development mode, every
    scope) may not see in a decision about ``asked``.

    Only a request with a subject id reads the ledger. What is withheld depends on the
    request and the key alone, never on what the ledger holds, so that its absence tells
    nothing either. Usage the caller sent itself is its own.
    """
    if asked.subject.id is None:
        return ()
    withheld = []
    if asked.usage is None and scopes is not None and "usage" not in scopes:
        withheld.append("usage")
    if scopes is not None and "guardian" not in scopes:
        withheld.append("guardian")
    return tuple(withheld)
