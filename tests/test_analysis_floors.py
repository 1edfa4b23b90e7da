"""`youthmode diff` and `youthmode floor` and jurisdiction floors (CONTRACT section 6, issue
12): `subject.jurisdiction` is a dimension of the domain and a point is the joint answer of the
policy and the floor packs the engine applies for it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import youthmode
from youthmode.authoring.domain import Domain, load_set
from youthmode.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

APP = """
[policy]
id = "app"
version = "{version}"
timezone = "{zone}"
currency = "VND"
{floors}

[[bands]]
id = "child"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."game.play"]
metered = true

[catalog.actions."chat.send"]

[catalog.actions."app.use"]
metered = true

[[rules]]
id = "no-chat-under-13"
kind = "forbid"
bands = ["child"]
actions = ["chat.send"]
message = {{ zh-CN = "不可聊天", en = "No chat" }}
"""

# Two small packs in the app's zone: a state's night curfew and its country's chat ban.
NIGHT = """
[policy]
id = "{id}"
version = "1"
timezone = "Asia/Ho_Chi_Minh"
currency = "VND"

[[bands]]
id = "minor"
from = 0
to = 16

[[bands]]
id = "adult"
from = 16

[catalog.actions."app.use"]
metered = true

[catalog.actions."chat.send"]

[[rules]]
id = "{id}-rule"
{rule}
bands = ["minor"]
message = {{ zh-CN = "不可", en = "No" }}
"""
STATE = NIGHT.format(
    id="state",
    rule='kind = "deny_window"\nreason = "curfew"\nactions = ["app.use"]\n'
    'between = ["22:00", "06:00"]',
)
COUNTRY = NIGHT.format(id="country", rule='kind = "forbid"\nactions = ["chat.send", "app.use"]')


def app(folder: Path, floors: str = "", version: str = "1", zone: str = "Asia/Ho_Chi_Minh") -> Path:
    folder.mkdir()
    text = APP.format(version=version, zone=zone, floors=floors)
    (folder / "app.toml").write_text(text, encoding="utf-8")
    return folder


def packs(tmp_path: Path) -> Path:
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "state.toml").write_text(STATE, encoding="utf-8")
    (folder / "country.toml").write_text(COUNTRY, encoding="utf-8")
    return folder


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--format", "json", "--year", "2026"])
    return code, json.loads(capsys.readouterr().out)


def regions(report: dict[str, Any]) -> list[dict[str, Any]]:
    comparisons = report.get("comparisons") or report["packs"]
    return [r for c in comparisons for r in c.get("regions", c.get("counterexamples", []))]


def test_diff_shows_the_regions_adding_vn_decree_147_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = app(tmp_path / "old")
    new = app(tmp_path / "new", 'floors = { "VN" = "vn-decree-147" }', "2")
    code, report = run_json(capsys, "diff", str(old), str(new), "--policies", str(CONFIGS))
    assert code == 1
    found = regions(report)
    assert found
    for region in found:
        assert region["confirmed"] is True
        assert region["conditions"]["jurisdiction"] == ["VN"]
        assert region["counterexample"]["subject"]["jurisdiction"] == "VN"
        assert (region["old"]["effect"], region["new"]["effect"]) == ("allow", "deny")
    codes = {c for r in found for c in r["new"]["reasons"]}
    assert {"unverified", "daily_limit"} <= codes
    (comparison,) = report["comparisons"]
    assert comparison["jurisdictions"] == [None, "VN"]
    assert [p["id"] for p in comparison["floor_packs"]] == ["vn-decree-147"]
    main(["diff", str(old), str(new), "--policies", str(CONFIGS), "--year", "2026"])
    assert "floors: subject.jurisdiction none, VN; decided with vn-decree-147" in (
        capsys.readouterr().out
    )
    # no floor: nothing changes, and a subject elsewhere decides as before
    code, report = run_json(capsys, "diff", str(new), str(new), "--policies", str(CONFIGS))
    assert code == 0


def test_both_levels_apply_and_the_engine_agrees_on_every_point(tmp_path: Path) -> None:
    """A state's pack and its country's both bind a subject of the state (`lines.floors_of`);
    every point of the domain is decided again by the engine."""
    folder = packs(tmp_path)
    new = app(tmp_path / "app", 'floors = { "VN-HN" = "state", "VN" = ["country"] }')
    loaded = load_set([new], [folder])
    policy = loaded.policies["app"]
    bare = load_set([app(tmp_path / "bare")]).policies["app"]
    domain = Domain([bare, policy], years=[2026], floors=({}, loaded.policies), obligations=True)
    assert domain.floors.jurisdictions == [None, "VN", "VN-HN"]
    hits = list(domain.run(lambda sigs: True))
    assert {h.guard.jurisdiction for h in hits} == {None, "VN", "VN-HN"}
    engine = youthmode.Engine(loaded.policies.values())
    bare_engine = youthmode.Engine([bare])
    rng = random.Random(3)
    both = [h for h in hits if h.signatures[1][1] == ("curfew", "feature_forbidden")]
    assert both and {h.guard.jurisdiction for h in both} == {"VN-HN"}
    for hit in [*rng.sample(hits, min(len(hits), 1500)), *both]:
        for eng, sig in zip((bare_engine, engine), hit.signatures, strict=True):
            decision = eng.decide(hit.request(domain.zone, "app"))
            assert (decision.allowed, tuple(decision.reason_codes)) == sig[:2], hit.labels()
    assert not any("curfew" in h.signatures[1][1] for h in hits if h.guard.jurisdiction != "VN-HN")


def test_floor_counts_the_protection_of_the_floors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app alone allows chat from 13 and use at night; with the floors, a subject of the
    floors' jurisdictions is protected as the baseline (the country pack) protects."""
    folder = packs(tmp_path)
    alone = app(tmp_path / "alone")
    argv = ["--baseline-path", str(folder), "--baseline", "country"]
    code, report = run_json(capsys, "floor", str(alone), *argv)
    assert code == 1 and regions(report)
    floored = app(tmp_path / "floored", 'floors = { "VN" = "country" }')
    code, report = run_json(capsys, "floor", str(floored), *argv)
    assert code == 1  # subjects without a jurisdiction are still unprotected
    found = regions(report)
    assert found and all(r["confirmed"] for r in found)
    assert all(r["conditions"].get("jurisdiction") == ["none"] for r in found)


def test_floor_packs_in_other_zones_agree_with_the_engine(tmp_path: Path) -> None:
    """An app counting UTC days with packs in Ho Chi Minh City (UTC+7) and Chicago (daylight
    saving): each pack's window edges and midnights cut the app's slices where they fall."""
    folder = packs(tmp_path)
    chicago = STATE.replace('id = "state"', 'id = "us"').replace(
        '"Asia/Ho_Chi_Minh"', '"America/Chicago"'
    )
    (folder / "us.toml").write_text(chicago.replace('"state-rule"', '"us-rule"'), encoding="utf-8")
    floors = 'floors = { "VN-HN" = "state", "VN" = "country", "US" = "us" }'
    new = app(tmp_path / "utc", floors, zone="UTC")
    loaded = load_set([new], [folder])
    policy = loaded.policies["app"]
    bare = load_set([app(tmp_path / "bare", zone="UTC")]).policies["app"]
    domain = Domain([bare, policy], years=[2026], floors=({}, loaded.policies))
    hits = list(domain.run(lambda sigs: True))
    engine = youthmode.Engine(loaded.policies.values())
    bare_engine = youthmode.Engine([bare])
    curfews = [h for h in hits if "curfew" in h.signatures[1][1]]
    assert {h.guard.jurisdiction for h in curfews} == {"VN-HN", "US"}
    starts = {h.time_class.at.astimezone(domain.zone).hour for h in curfews}
    assert {15, 4, 5} & starts  # 22:00 in Hanoi is 15:00 UTC; in Chicago 04:00 or 03:00 UTC
    rng = random.Random(5)
    for hit in [*rng.sample(hits, min(len(hits), 2000)), *curfews]:
        for eng, sig in zip((bare_engine, engine), hit.signatures, strict=True):
            decision = eng.decide(hit.request(domain.zone, "app"))
            assert (decision.allowed, tuple(decision.reason_codes)) == sig[:2], hit.labels()


def test_every_region_of_a_cross_zone_diff_is_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = app(tmp_path / "old", zone="UTC")
    new = app(tmp_path / "new", 'floors = { "VN" = "vn-decree-147" }', "2", zone="UTC")
    code, report = run_json(capsys, "diff", str(old), str(new), "--policies", str(CONFIGS))
    assert code == 1
    found = regions(report)
    assert found and all(r["confirmed"] for r in found)
    assert all(r["conditions"]["jurisdiction"] == ["VN"] for r in found)


def test_a_floor_capping_another_currency_is_refused_as_the_engine_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An app counting USD with cn-baseline (caps in CNY) as the floor for CN: the engine
    answers a CN subject's purchase with a 400 `unsupported_currency`; the diff shows that
    region, and its example is confirmed by the engine's error."""
    text = APP.replace('currency = "VND"', 'currency = "USD"')
    text += '\n[catalog.actions."game.purchase"]\nspend = "game_topup"\n'
    for name, floors in (("old", ""), ("new", 'floors = { "CN" = "cn-baseline" }')):
        folder = tmp_path / name
        folder.mkdir()
        body = text.format(version="1", zone="UTC", floors=floors)
        (folder / "app.toml").write_text(body, encoding="utf-8")
    old, new = tmp_path / "old", tmp_path / "new"
    code, report = run_json(capsys, "diff", str(old), str(new), "--policies", str(CONFIGS))
    assert code == 1
    found = regions(report)
    refused = [r for r in found if r["new"]["reasons"] == ["unsupported_currency"]]
    assert refused and all(r["actions"] == ["game.purchase"] for r in refused)
    assert all(r["conditions"]["jurisdiction"] == ["CN"] for r in refused)
    assert all(r["confirmed"] for r in found)
    loaded = load_set([new], [CONFIGS])
    with pytest.raises(youthmode.RequestError, match="CNY"):
        youthmode.Engine(loaded.policies.values()).decide(refused[0]["counterexample"])


def test_a_rule_with_its_own_age_methods_is_refused_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """diff cannot vary how an age was established: where it matters it says so (exit 2), no
    traceback."""
    pack = tmp_path / "strict.toml"
    pack.write_text(
        """
[policy]
id = "strict"
version = "1"
timezone = "Australia/Sydney"

[[bands]]
id = "minor"
from = 0
to = 18

[[bands]]
id = "adult"
from = 18

[catalog.actions."app.use"]
metered = true

[[rules]]
id = "min-16"
kind = "minimum_age"
age = 16
methods = ["gov_id"]
actions = ["app.use"]
message = { zh-CN = "未满16岁", en = "Under 16" }
""",
        encoding="utf-8",
    )

    # The same rules on both sides decide alike whatever the method: no refusal there; a
    # changed rule with its own methods is refused.
    assert main(["diff", str(pack), str(pack)]) == 0
    changed = tmp_path / "changed" / "strict.toml"
    changed.parent.mkdir()
    changed.write_text(pack.read_text(encoding="utf-8").replace("age = 16", "age = 17"))
    capsys.readouterr()
    assert main(["diff", str(pack), str(changed)]) == 2
    err = capsys.readouterr().err
    assert "names the age methods it accepts" in err and "Traceback" not in err
