"""The compiled reader's local instant by a sum (youthmode/zone_spans.py, youthmode/_reader.c).

Inside a span `zone_span` gives, the local wall time of a UTC second is the second plus the
offset: that must be what `astimezone` says at every instant of the span, fold included, and
the repeated hour after a backward change must never be summed. Through the reader, requests at
the edges of every transition of daylight-saving zones (the gap and the fold), at far dates,
with every fraction and offset, read exactly as the Python plain route reads them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from leaks import blocks_kept
from test_reader_compiled import assert_same_read

import youthmode
from youthmode import compiled, request
from youthmode.request import read_plain
from youthmode.zone_spans import FAR, _table, zone_span

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
ZONES = {
    "cn-baseline": "Asia/Shanghai",  # daylight saving 1986-1991, none since
    "cn-berlin": "Europe/Berlin",
    "cn-santiago": "America/Santiago",  # changes at midnight
    "cn-lord-howe": "Australia/Lord_Howe",  # a 30-minute change
    "cn-new-york": "America/New_York",  # a rule past its last listed transition
    "cn-kolkata": "Asia/Kolkata",
}
# More zones than the reader keeps spans of (8), for the test of reads inside the helper.
MORE_ZONES = {
    "cn-london": "Europe/London",
    "cn-sydney": "Australia/Sydney",
    "cn-chicago": "America/Chicago",
    "cn-tokyo": "Asia/Tokyo",
}
NOW = datetime(2026, 5, 4, 12, 30, 15, tzinfo=UTC)
NEAR = (-3601, -1801, -1, 0, 1, 1799, 1800, 1801, 3599, 3600, 3601, 7200, 86399)


def transitions(name: str, low: int = 1980, high: int = 2045) -> list[int]:
    """The zone's UTC transition seconds between those years, from the instants' offsets."""
    zone, out = ZoneInfo(name), []
    start = int(datetime(low, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(high, 1, 1, tzinfo=UTC).timestamp())
    step = 3 * 3600
    for ts in range(start, end, step):  # changes are months apart: a bisection per change
        a, b = ts, ts + step
        if _offset(zone, a) == _offset(zone, b):
            continue
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (mid, b) if _offset(zone, mid) == _offset(zone, a) else (a, mid)
        out.append(b)
    return out


def _offset(zone: ZoneInfo, ts: int) -> timedelta | None:
    return datetime.fromtimestamp(ts, zone).utcoffset()


def summed(zone: ZoneInfo, ts: int) -> datetime | None:
    """The local instant as the reader sums it, or None where it asks `astimezone`."""
    start, end, offset = zone_span(zone, ts)
    assert start <= ts < end
    if offset is None:
        return None
    return datetime.fromtimestamp(0, UTC).replace(tzinfo=None) + timedelta(seconds=ts + offset)


@pytest.mark.parametrize("name", sorted(set(ZONES.values()) | {"UTC", "Europe/London"}))
def test_a_span_sums_to_what_astimezone_says_around_every_transition(name: str) -> None:
    zone = ZoneInfo(name)
    assert _table(name) is not None, "zoneinfo's data could not be read: no span is ever summed"
    changes = transitions(name)
    seen_sums = 0
    for change in changes or [int(NOW.timestamp())]:
        for ts in (change + d for d in NEAR):
            expected = datetime.fromtimestamp(ts, UTC).astimezone(zone)
            start, end, offset = zone_span(zone, ts)
            for second in (ts, start, end - 1):
                if abs(second) >= FAR - 1 or offset is None:
                    continue
                local = datetime.fromtimestamp(second, UTC).astimezone(zone)
                assert local.fold == 0 and local.utcoffset() == timedelta(seconds=offset)
            local = summed(zone, ts)
            if local is not None:
                seen_sums += 1
                assert expected.fold == 0
                assert expected.replace(tzinfo=None) == local, (name, ts)
    assert seen_sums > 0


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"])
def test_the_repeated_wall_times_after_a_backward_change_are_never_summed(name: str) -> None:
    zone = ZoneInfo(name)
    folds = 0
    for change in transitions(name, 2000, 2040):
        for ts in range(change - 2, change + 3602, 29):
            local = datetime.fromtimestamp(ts, UTC).astimezone(zone)
            if local.fold:
                folds += 1
                assert zone_span(zone, ts)[2] is None, (name, ts)
    assert folds > 100


def test_spans_past_the_last_listed_transition_of_a_rule_are_not_summed() -> None:
    """New York's changes after its file's last listed one come from a rule: asked."""
    zone = ZoneInfo("America/New_York")
    start, end, offset = zone_span(zone, int(datetime(2090, 7, 1, tzinfo=UTC).timestamp()))
    assert offset is None or end - start < 366 * 86400
    assert zone_span(ZoneInfo("Asia/Shanghai"), int(NOW.timestamp()))[1:] == (FAR, 8 * 3600)
    assert zone_span(timezone(timedelta(hours=-5)), 0) == (-FAR, FAR, -5 * 3600)
    assert zone_span(timezone(timedelta(microseconds=1)), 0)[2] is None


# -- through the compiled reader -------------------------------------------------------------
compiled_only = pytest.mark.skipif(
    request.read_compiled is None, reason="YOUTHMODE_PURE is set: the Python path is asked for"
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    folder = tmp_path_factory.mktemp("zoned")
    text = (CONFIGS / "cn-baseline.toml").read_text(encoding="utf-8")
    for pid, name in {**ZONES, **MORE_ZONES}.items():
        if pid != "cn-baseline":
            moved = text.replace('id = "cn-baseline"', f'id = "{pid}"', 1)
            moved = moved.replace('"Asia/Shanghai"', f'"{name}"', 1).replace("default = true", "")
            (folder / f"{pid}.toml").write_text(moved, encoding="utf-8")
    return youthmode.Engine.from_path(CONFIGS, folder, clock=lambda: NOW)


def stamps(rng: random.Random, ts: int) -> list[str]:
    """``ts`` written as integrations write it: Z, offsets, fractions of every length."""
    out = []
    for hours, minutes in ((0, 0), (8, 0), (-5, 0), (5, 30), (-9, -30), (23, 59), (-23, -59)):
        zone = timezone(timedelta(hours=hours, minutes=minutes))
        text = datetime.fromtimestamp(ts, zone).isoformat()
        digits = rng.randrange(7)
        if digits:
            text = (
                text[:19]
                + "."
                + "".join(rng.choice("0123456789") for _ in range(digits))
                + text[19:]
            )
        out.append(text.replace("+00:00", "Z") if rng.random() < 0.5 else text)
    return out


def reads(engine: youthmode.Engine, data: Any, now: datetime = NOW) -> tuple[Any, Any]:
    assert request.read_compiled is not None
    args = (engine.policies, engine.default_policy, now)
    return request.read_compiled(data, *args), read_plain(data, *args)


@compiled_only
@pytest.mark.parametrize("pid", sorted(ZONES))
def test_the_reader_reads_every_transitions_edges_as_the_plain_route(
    engine: youthmode.Engine, pid: str
) -> None:
    rng = random.Random(pid)
    taken = 0
    for change in transitions(ZONES[pid], 2001, 2040)[:40] or [int(NOW.timestamp())]:
        for ts in (change + d for d in NEAR):
            for at in stamps(rng, ts):
                data = {"policy": pid, "action": "app.use", "at": at, "subject": {"age": 12}}
                mine, theirs = reads(engine, data)
                assert mine is not None, data  # every sure year's instant is read in C
                assert_same_read(mine, theirs, data)
                taken += 1
    assert taken > 0


@compiled_only
@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z", "2000-01-01T00:00:00+08:00", "2000-01-01T00:00:00Z",
        "2000-12-31T23:59:59-08:00", "2001-01-01T00:00:00+23:59", "2098-12-31T23:59:59-23:59",
        "2099-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z", "2026-02-29T12:00:00Z", "2028-02-29T12:00:00Z",
        "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00z",
        "2026-03-29T02:30:00+01:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00",
    ],
)  # fmt: skip
def test_far_odd_and_impossible_instants_read_as_the_plain_route(
    engine: youthmode.Engine, at: str
) -> None:
    for pid in ("cn-baseline", "cn-berlin", "cn-new-york"):
        data = {"policy": pid, "action": "app.use", "at": at}
        mine, theirs = reads(engine, data)
        if theirs is None:
            assert mine is None, data
        else:
            assert mine is not None
            assert_same_read(mine, theirs, data)


@compiled_only
def test_now_is_read_as_the_plain_route_in_every_zone(engine: youthmode.Engine) -> None:
    rng = random.Random(5)
    for pid, name in ZONES.items():
        for change in transitions(name, 2001, 2030)[:10] or [int(NOW.timestamp())]:
            for d in NEAR:
                now = datetime.fromtimestamp(change + d, UTC) + timedelta(
                    microseconds=rng.randrange(10**6)
                )
                for clock in (now, now.astimezone(timezone(timedelta(hours=8)))):
                    data = {"policy": pid, "action": "app.use"}
                    mine, theirs = reads(engine, data, clock)
                    assert mine is not None
                    assert_same_read(mine, theirs, data)


@compiled_only
def test_the_sum_is_what_the_reader_uses_and_a_new_helper_forgets_old_spans(
    engine: youthmode.Engine,
) -> None:
    """A helper that lies by an hour shows in the reader's answer: the sum, not `astimezone`,
    read it. Configured back, the lie's spans are forgotten and the answers agree again."""
    module = compiled.load("_reader")
    assert module is not None
    data = {"policy": "cn-baseline", "action": "app.use", "at": "2026-05-04T12:00:00Z"}

    def liar(zone: Any, ts: int) -> tuple[int, int, int | None]:
        start, end, offset = zone_span(zone, ts)
        return start, end, None if offset is None else offset + 3600

    try:
        module.configure({**request._reader_configuration(), "zone_span": liar})
        mine, theirs = reads(engine, data)
        assert mine is not None and theirs is not None
        assert mine[1].replace(tzinfo=None) - theirs[1].replace(tzinfo=None) == timedelta(hours=1)
    finally:
        module.configure(request._reader_configuration())
    mine, theirs = reads(engine, data)
    assert_same_read(mine, theirs, data)


@compiled_only
def test_a_helper_that_fails_or_answers_oddly_declines_and_leaks_nothing(
    engine: youthmode.Engine,
) -> None:
    module = compiled.load("_reader")
    assert module is not None
    data = {"policy": "cn-berlin", "action": "app.use", "at": "2026-05-04T12:00:00Z"}
    odd = [
        lambda z, t: 1 / 0, lambda z, t: (t + 1, t + 2, 0), lambda z, t: (0, 1),
        lambda z, t: None, lambda z, t: (t, t + 1, 86400), lambda z, t: (t, t + 1, "1"),
    ]  # fmt: skip
    try:
        for helper in odd:
            module.configure({**request._reader_configuration(), "zone_span": helper})
            assert reads(engine, data)[0] is None
    finally:
        module.configure(request._reader_configuration())
    rng = random.Random(9)
    requests = [
        {"policy": pid, "action": "app.use", "at": at}
        for pid, name in ZONES.items()
        for change in transitions(name, 2020, 2028)[:6] or [int(NOW.timestamp())]
        for at in stamps(rng, change)
    ]
    requests += [{"policy": "cn-berlin", "action": "app.use", "at": "2026-02-30T00:00:00Z"}]

    def run() -> None:
        for data in requests:
            reads(engine, data)

    assert blocks_kept(run, 20) < 300


@compiled_only
def test_reads_inside_the_helper_do_not_mix_up_the_kept_spans(engine: youthmode.Engine) -> None:
    """The helper is Python: another thread may read while it runs, and take over the place
    of the span being renewed. A read of every other zone from inside the helper stands in for
    that thread; afterwards every zone must still read as the plain route reads it."""
    module = compiled.load("_reader")
    assert module is not None
    every = {**ZONES, **MORE_ZONES}
    summer, winter = "2026-07-01T12:00:00Z", "2026-12-01T12:00:00Z"
    nesting: list[bool] = []

    def helper(zone: Any, ts: int) -> tuple[int, int, int | None]:
        if nesting and not nesting[0]:
            nesting[0] = True
            for pid in every:
                if pid != "cn-berlin":
                    reads(engine, {"policy": pid, "action": "app.use", "at": summer})
        return zone_span(zone, ts)

    try:
        module.configure({**request._reader_configuration(), "zone_span": helper})
        reads(engine, {"policy": "cn-berlin", "action": "app.use", "at": summer})
        nesting.append(False)  # Berlin's winter is another span: the helper is asked again
        reads(engine, {"policy": "cn-berlin", "action": "app.use", "at": winter})
        assert nesting == [True]
        # the latest kept first (no read evicts a span before it is read), Berlin's old place
        # among them; then every zone at both instants
        order = [*reversed([pid for pid in every if pid != "cn-berlin"]), *every]
        for pid in order:
            for at in (winter, summer):
                data = {"policy": pid, "action": "app.use", "at": at}
                mine, theirs = reads(engine, data)
                assert mine is not None
                assert_same_read(mine, theirs, data)
    finally:
        module.configure(request._reader_configuration())
