"""Ledger-backed decisions on the plain route (ledger/plain.py) decide as the model route does.

`Ledger.decide` reads a plain request straight into facts and fills them from the ledger; the
model route (parse, `LedgerCore.prepare`, the engine's typed route) is the reference. Over
random histories and requests (several policies; use, purchases and holds; stored guardian
settings and grants written as the ledger writes them and as no write would, curfews
included; verified identities; the caller's own usage and guardian facts) both must give the
same decision, byte for byte in JSON but for its id, or raise the same error; and the plain
route must answer itself (not fall back) for every request it is meant to take.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from test_ledger_decision_usage import use_event

import youthmode
from youthmode.ledger import Ledger, deciding, open_store, plain
from youthmode.ledger.guardian import grant_key
from youthmode.ledger.guardian_merge import merge, merged_facts
from youthmode.ledger.identity import IDENTITY_KEY
from youthmode.ledger.store import StoreUnavailable
from youthmode.model import DAY_SECONDS, MIN_DAILY_LIMIT_SECONDS, Decision, Guardian
from youthmode.request import read_plain
from youthmode.request_typed import _guardian_facts as guardian_facts

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NOW = datetime(2026, 11, 25, 13, 17, tzinfo=UTC)  # a Wednesday, 21:17 in Shanghai
# The ledger's clock runs ahead of the engine's: a request without `at` reads its use at the
# ledger's instant, and is decided at the engine's (as `LedgerCore._fill` and `Engine.decide`).
AHEAD = timedelta(seconds=7)
POLICIES = ["cn-baseline", "vn-decree-147", "us-ut", "kr", "uk-aadc", "eu-dsa28"]

uses = st.lists(
    st.tuples(st.integers(1, 6 * 86400), st.integers(1, 3 * 3600), st.sampled_from([None, "a"])),
    max_size=8,
)
# What `update_guardian` stores (daily limit in seconds, curfew, names) and what it never would
# (a limit out of range, a malformed curfew, a name that is not text): the latter must take the
# model route, which validates and words the error.
stored_guardian = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "daily_limit": st.sampled_from([1200, 3000, 10800, 30, 90000]),
            "curfew": st.sampled_from([["21:00", "06:00"], ["20:30", "07:00"], [], ["25:00", "x"]]),
            "exempt_apps": st.sampled_from([["a"], [], [7]]),
            "waivers": st.sampled_from([["daily_limit"], ["curfew", "game_window"]]),
            "consents": st.sampled_from([["livestream.tip"], ["dm.send"]]),
            "app_consent": st.sampled_from(["approved", "revoked", "maybe"]),
            "linked": st.sampled_from([True, False, "yes"]),
        },
    ),
)
identities = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"verified": st.sampled_from([True, True, False])},
        optional={"birthdate": st.sampled_from(["2013-05-01", "2009-11-25", "2031-01-01"])},
    ),
)
# Spend figures and holds as stored: amounts with the currency's places, none ("0.00" after a
# refund reads as 0) and one place too many (`invalid_amount` on the model route).
AMOUNTS = ["0", "12", "0.00", "12.50", "3.5", "7.125"]
spends = st.lists(
    st.tuples(st.sampled_from(["game_topup", "purchase"]), st.sampled_from(AMOUNTS)), max_size=2
)
holds = st.lists(
    st.tuples(
        st.sampled_from(["game_topup", "purchase"]),
        st.sampled_from(AMOUNTS),
        st.sampled_from(["held", "committed"]),
        st.sampled_from([-60, 600]),  # expired a minute ago, or open for ten more
    ),
    max_size=2,
)
subjects = st.fixed_dictionaries(
    {"id": st.just("kid")},
    optional={
        "age": st.integers(5, 19),
        "birthdate": st.sampled_from(["2012-11-25", "2008-11-26", "2020-02-29"]),
        "verified": st.booleans(),
    },
)
given_guardian = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "daily_limit_seconds": st.integers(600, 7200),
            "extra_seconds": st.sampled_from([0, 900, 86400]),
            "consents": st.just(["livestream.tip"]),
            "exemptions": st.just(["curfew"]),
            "curfew": st.sampled_from([["22:00", "07:00"], ["12:00", "12:30"]]),
            "more_curfews": st.just([["13:00", "14:00"]]),
        },
    ),
)
given_usage = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"today_seconds": st.integers(0, 9000)}),
)


@pytest.fixture(scope="module")
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture(scope="module")
def clocked_engine(clock: list[datetime]) -> youthmode.Engine:
    return youthmode.Engine.from_path(CONFIGS, clock=lambda: clock[0]).warm()


def outcome(fn: Callable[[], Decision | None]) -> Any:
    """The decision as JSON without its id, or the error it raised (type and words)."""
    try:
        decided = fn()
    except Exception as err:  # the same error either way, whatever it is
        return ("raised", type(err).__name__, str(err))
    if decided is None:
        return None
    return decided.model_dump_json(exclude={"decision_id"})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    used=uses,
    stored=stored_guardian,
    identity=identities,
    spent=spends,
    held=holds,
)
def test_the_plain_route_decides_as_the_model_route(
    clocked_engine: youthmode.Engine,
    clock: list[datetime],
    data: st.DataObject,
    used: list[tuple[int, int, str | None]],
    stored: dict[str, Any] | None,
    identity: dict[str, Any] | None,
    spent: list[tuple[str, str]],
    held: list[tuple[str, str, str, int]],
) -> None:
    engine = clocked_engine
    policy = engine.policy(data.draw(st.sampled_from(POLICIES)))
    request = data.draw(plain_requests(policy))
    granted = data.draw(st.sampled_from([None, 900, 90000]))
    clock[0] = NOW + timedelta(minutes=data.draw(st.integers(-1, 1)))
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/ledger.db")
        ledger = Ledger(engine, store, clock=lambda: clock[0] + AHEAD)
        try:
            history(ledger, policy, used)
            day = ledger.clock().astimezone(policy.zone).date()
            documents = {
                "guardian": stored,
                IDENTITY_KEY: identity,
                **money(ledger, day, spent, held),
            }
            documents[grant_key(day)] = None if granted is None else [{"seconds": granted}]
            put(ledger, {k: v for k, v in documents.items() if v is not None})
            quick = outcome(lambda: plain.decide(ledger, engine, request))
            model = outcome(lambda: deciding.decide(engine, ledger, engine.parse(request)).decision)
            whole = outcome(lambda: ledger.decide(request))
        finally:
            store.close()
    assert whole == model
    if quick is not None:
        assert quick == model
    if takes_plain(request, stored, identity, granted) and not any(
        len(amount.partition(".")[2]) > policy.currency_places for _, amount, *_ in spent + held
    ):
        assert quick is not None, "a plain request fell back to the model route"


def plain_requests(policy: Any) -> st.SearchStrategy[dict[str, Any]]:
    places = policy.currency_places
    amount = "10" if places == 0 else "10." + "0" * places
    actions = sorted(policy.actions)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        action = draw(st.sampled_from(actions))
        request: dict[str, Any] = {"policy": policy.id, "action": action}
        request["subject"] = draw(subjects)
        if draw(st.booleans()):
            hours = draw(st.sampled_from([0, -3, -30, 2]))
            request["at"] = (NOW + timedelta(hours=hours)).astimezone(policy.zone).isoformat()
        resource: dict[str, Any] = {}
        app = draw(st.sampled_from([None, "a", "b", "\ud800"]))
        if app is not None:
            resource["app"] = app
        if policy.actions[action].requires_amount or draw(st.booleans()):
            resource["amount"] = amount
        if resource:
            request["resource"] = resource
        for key, values in (("usage", given_usage), ("guardian", given_guardian)):
            value = draw(values)
            if value is not None:
                request[key] = value
        return request

    return build()


def takes_plain(
    request: dict[str, Any],
    stored: dict[str, Any] | None,
    identity: dict[str, Any] | None,
    granted: int | None,
) -> bool:
    """Is this a request the plain route answers itself? Not when the merge of stored settings
    and grants needs validating (a value out of range, a day's extra time over 24 hours), the
    caller's `more_curfews` meet stored settings, or a verified identity's birthdate falls
    after the decision."""
    subject = request["subject"]
    if (
        identity
        and identity["verified"]
        and identity.get("birthdate") == "2031-01-01"
        and "age" not in subject
        and "birthdate" not in subject
    ):
        return False
    guardian = request.get("guardian") or {}
    if not stored and granted is None:
        return True  # nothing stored to merge
    stored = stored or {}
    extra = guardian.get("extra_seconds", 0) + min(granted or 0, DAY_SECONDS)
    limits = [v for v in (guardian.get("daily_limit_seconds"), stored.get("daily_limit")) if v]
    curfew = stored.get("curfew")
    odd = (
        extra > DAY_SECONDS
        or (bool(limits) and not MIN_DAILY_LIMIT_SECONDS <= min(limits) <= DAY_SECONDS)
        or curfew == ["25:00", "x"]
        or (curfew == [] and "curfew" not in guardian)
        or stored.get("exempt_apps") == [7]
        or stored.get("app_consent") == "maybe"
        or stored.get("linked") == "yes"
    )
    return not odd and "more_curfews" not in guardian


def history(ledger: Ledger, policy: Any, used: list[tuple[int, int, str | None]]) -> None:
    now = ledger.clock()
    events = [use_event(i, now, ago, length, app) for i, (ago, length, app) in enumerate(used)]
    if events and "app.use" in policy.actions:
        ledger.record_usage("kid", events, policy_id=policy.id)


def money(
    ledger: Ledger, day: date, spent: list[tuple[str, str]], held: list[tuple[str, str, str, int]]
) -> dict[str, Any]:
    """The `spend` and `orders` documents: figures of the day and month, and orders."""
    iso, month = day.isoformat(), day.strftime("%Y-%m")
    spend: dict[str, Any] = {}
    for kind, amount in spent:
        spend[kind] = {f"d:{iso}": amount, f"m:{month}": amount}
    now = ledger.clock().timestamp()
    orders = {
        f"o-{i}": {
            "state": state,
            "kind": kind,
            "amount": amount,
            "day": iso,
            "month": month,
            "expires_at": now + ends,
        }
        for i, (kind, amount, state, ends) in enumerate(held)
    }
    return {"spend": spend or None, "orders": orders or None}


def put(ledger: Ledger, documents: dict[str, Any]) -> None:
    def write(tx: Any) -> None:
        for key, value in documents.items():
            tx.put(key, value)

    if documents:
        ledger.store.atomic("kid", write)


class Unreadable:
    """A store whose reads fail: decisions fail closed, or are marked degraded."""

    backend, url = "down", "down://"

    def read(self, subject: str, fn: Any, *, decision: bool = False) -> Any:
        raise StoreUnavailable("down")


@pytest.mark.parametrize("usage", [None, {"today_seconds": 60}])
@pytest.mark.parametrize("age", [12, 30])
def test_an_unreadable_store_decides_as_the_model_route(
    clocked_engine: youthmode.Engine, usage: dict[str, Any] | None, age: int
) -> None:
    ledger = Ledger(clocked_engine, Unreadable(), clock=lambda: NOW)  # type: ignore[arg-type]
    request: dict[str, Any] = {"subject": {"id": "kid", "age": age}, "action": "game.play"}
    if usage is not None:
        request["usage"] = usage
    quick = plain.decide(ledger, clocked_engine, request)
    model = deciding.decide(clocked_engine, ledger, clocked_engine.parse(request)).decision
    assert quick is not None and quick.degraded
    assert outcome(lambda: quick) == outcome(lambda: model)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_ledger_decision_takes_the_plain_route(
    clocked_engine: youthmode.Engine,
    clock: list[datetime],
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The benchmark's kind of request (a subject id, stored use and a guardian limit) never
    builds a request model; and what it decides is the model route's decision."""
    clock[0] = NOW
    url = (
        f"sqlite:///{tmp_path}/ledger.db"
        if backend == "sqlite"
        else request.getfixturevalue("redis_store_url")
    )
    store = open_store(url)
    try:
        ledger = Ledger(clocked_engine, store, clock=lambda: clock[0])
        use = {"id": "u", "action": "app.use", "start": "2026-11-25T20:00:00+08:00",
               "end": "2026-11-25T20:40:00+08:00"}  # fmt: skip
        ledger.record_usage("kid", [use])
        ledger.update_guardian("kid", {"daily_limit": "45m", "curfew": ["22:00", "06:00"]}, "mum")
        asked = {"subject": {"id": "kid", "age": 12}, "action": "app.use"}
        model = deciding.decide(clocked_engine, ledger, clocked_engine.parse(asked)).decision
        parsed: list[Any] = []
        monkeypatch.setattr(clocked_engine, "parse", parsed.append)
        decided = ledger.decide(asked)
    finally:
        if backend == "redis":
            store.delete_all()  # type: ignore[attr-defined]
        store.close()
    assert parsed == []
    assert decided.remaining_seconds == 300  # 45 minutes, 40 used
    assert decided.facts.guardian is not None
    assert outcome(lambda: decided) == outcome(lambda: model)


KID = {"id": "kid", "age": 12}
GAME_TOPUP = {"policy": "cn-baseline", "action": "game.purchase", "subject": KID,
              "resource": {"amount": "10.00"}}  # fmt: skip
EDGES = {
    # A refund leaves "0.00": the typed route reads a zero as 0, and the facts show "0".
    "zero spend": (
        {"spend": {"game_topup": {"d:2026-11-25": "0.00", "m:2026-11": "0.00"}}},
        GAME_TOPUP,
        '"day_spent":"0","month_spent":"0"',
    ),
    "spend with its places": (
        {"spend": {"game_topup": {"d:2026-11-25": "12.50", "m:2026-11": "40.10"}}},
        GAME_TOPUP,
        '"day_spent":"12.50","month_spent":"40.10"',
    ),
    "spend with a place too many": (
        {"spend": {"game_topup": {"d:2026-11-25": "7.125", "m:2026-11": "7.125"}}},
        GAME_TOPUP,
        None,  # invalid_amount on the model route
    ),
    "a verified identity's birthdate": (
        {IDENTITY_KEY: {"verified": True, "birthdate": "2013-05-01"}},
        {"action": "app.use", "subject": {"id": "kid"}},
        '"age":13,"verified":true',
    ),
    "a verified identity born after the decision": (
        {IDENTITY_KEY: {"verified": True, "birthdate": "2031-01-01"}},
        {"action": "app.use", "subject": {"id": "kid"}},
        None,  # birthdate_in_future on the model route
    ),
    # The merge keeps every curfew: the caller's `curfew`, the stored one, its `more_curfews`.
    "curfews given and stored": (
        {"guardian": {"curfew": ["21:00", "06:00"]}},
        {
            "action": "app.use",
            "subject": KID,
            "guardian": {"curfew": ["12:00", "13:00"], "more_curfews": [["21:10", "21:20"]]},
        },
        '"allowed":false',
    ),
    # Stored settings beside the caller's `more_curfews` (21:10-21:20; 21:17 now): the window
    # must still deny. It was dropped by the merge before (a guardian's curfew not enforced).
    "a caller's more_curfews beside stored settings": (
        {"guardian": {"daily_limit": 7200}},
        {
            "action": "app.use",
            "subject": KID,
            "guardian": {"curfew": ["12:00", "13:00"], "more_curfews": [["21:10", "21:20"]]},
        },
        '"allowed":false',
    ),
    "a stored link and app consent": (
        {"guardian": {"linked": True, "app_consent": "revoked"}},
        {"policy": "us-ut", "action": "app.use", "subject": KID},
        '"app_consent":"revoked","linked":true',
    ),
    "a day's extra time over 24 hours": (
        {"g:2026-11-25": [{"seconds": 86400}]},
        {"action": "app.use", "subject": KID, "guardian": {"extra_seconds": 60}},
        None,  # refused by validating the merge
    ),
}


@pytest.mark.parametrize("name", EDGES)
def test_edges_decide_as_the_model_route(
    clocked_engine: youthmode.Engine, clock: list[datetime], tmp_path: Path, name: str
) -> None:
    documents, request, shown = EDGES[name]
    clock[0] = NOW
    store = open_store(f"sqlite:///{tmp_path}/ledger.db")
    try:
        ledger = Ledger(clocked_engine, store, clock=lambda: clock[0])
        put(ledger, documents)
        quick = outcome(lambda: plain.decide(ledger, clocked_engine, request))
        model = outcome(
            lambda: deciding.decide(clocked_engine, ledger, clocked_engine.parse(request)).decision
        )
        whole = outcome(lambda: ledger.decide(request))
    finally:
        store.close()
    assert whole == model
    if shown is None:
        assert quick is None and model[0] == "raised"
    else:
        assert quick == model
        assert shown in quick


stored_for_merge = st.fixed_dictionaries(
    {},
    optional={
        "daily_limit": st.one_of(st.integers(0, 90000), st.just("1h")),
        "waivers": st.lists(st.sampled_from(["daily_limit", "curfew", 3]), max_size=2),
        "consents": st.lists(st.sampled_from(["livestream.tip", "dm.send"]), max_size=2),
        "exempt_apps": st.one_of(st.lists(st.sampled_from(["a", "b"]), max_size=2), st.just("ab")),
        "curfew": st.sampled_from([["21:00", "06:00"], [], ["21:00"], ["7pm", "06:00"], "21:00"]),
        "app_consent": st.sampled_from(["approved", "revoked", "", "maybe"]),
        "linked": st.sampled_from([True, False, None, 1, "yes", "no"]),
        "extra_seconds": st.integers(0, 90000),
    },
)
plain_guardians = st.fixed_dictionaries(
    {},
    optional={
        "daily_limit_seconds": st.integers(1, 86400),
        "extra_seconds": st.integers(0, 86400),
        "consents": st.lists(st.sampled_from(["dm.send", "fan.vote"]), max_size=2),
        "exempt_apps": st.lists(st.sampled_from(["b", "c"]), max_size=2),
        "curfew": st.sampled_from([["22:00", "07:00"], ["12:00", "12:00"]]),
        "more_curfews": st.just([["13:00", "14:00"]]),
    },
)


@settings(max_examples=400, deadline=None)
@given(given=plain_guardians, stored=stored_for_merge)
def test_merged_facts_are_what_the_typed_route_reads_from_the_merge(
    engine: youthmode.Engine, given: dict[str, Any], stored: dict[str, Any]
) -> None:
    """`merged_facts` from a plain request's guardian facts and the stored settings: the facts
    `typed_facts` reads from `merge(Guardian(...), stored)`, or None (the model route then
    validates); never other facts, and None only where the merge is not plainly valid."""
    request = {"action": "app.use", "guardian": given}
    found = read_plain(request, engine.policies, engine.default_policy, NOW)
    assert found is not None
    facts = found[2]
    mine = (facts.consents, facts.exemptions, facts.exempt_apps, facts.guardian_daily_limit,
            facts.extra_seconds, facts.guardian_curfews)  # fmt: skip
    try:
        quick: Any = merged_facts(mine, given.get("curfew"), stored)
    except TypeError:  # a stored limit that is not a number: the merge raises it too
        quick = "TypeError"
    try:
        merged = merge(Guardian(**given), stored)
    except (ValidationError, TypeError) as err:
        assert quick is None or quick == type(err).__name__
        return
    expected = (guardian_facts(merged), merged.app_consent, bool(merged.linked))
    if quick is not None:
        assert quick == expected
    plainly = (
        stored.get("daily_limit") != "1h"
        and 3 not in stored.get("waivers", [])
        and stored.get("app_consent") not in ("", "maybe")
        and stored.get("linked") not in (1, "yes", "no")
    )
    if plainly:
        assert quick is not None
