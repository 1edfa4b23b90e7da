"""Floor-style sanity of the jurisdiction packs of issue 15: an app policy that names a pack as
its floor for the pack's jurisdiction never allows what the pack itself denies. Every case of the
pack's own tests (configs/<id>_test.toml) is decided twice: by the pack, and by a rule-less app
policy with the pack as a floor; each denial of the pack must be a denial of the app with the
pack's reasons among its own, and each allow stays an allow (the app adds nothing)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIGS

import youthmode
from youthmode.authoring.domain import Domain, load_set
from youthmode.authoring.testing import jsonable, read_test_file
from youthmode.policies.in_force import enforced

# pack -> the floor key an app names it under (eu-dsa28 has no ISO code: one per member state)
FLOORS = {
    "us-ut": "US-UT",
    "us-la": "US-LA",
    "us-al": "US-AL",
    "us-co": "US-CO",
    "uk-aadc": "GB",
    "kr": "KR",
    "eu-dsa28": "FR",
    "eu-dsa28-av": "DE",
}


def app_policy(pack: str, key: str | None = None) -> str:
    """A rule-less app policy, `app-<pack>`, with the pack as its floor (under ``key``, default
    `FLOORS[pack]`), the pack's currency and every action of the pack's catalog."""
    document = tomllib.loads((CONFIGS / f"{pack}.toml").read_text(encoding="utf-8"))
    catalog = document["catalog"]["actions"]
    lines = [
        "[policy]",
        f'id = "app-{pack}"',
        'version = "1"',
        'timezone = "UTC"',
        f'currency = "{document["policy"]["currency"]}"',
        f'floors = {{ "{key or FLOORS[pack]}" = "{pack}" }}',
        "",
        "[[bands]]",
        'id = "everyone"',
        "from = 0",
        "",
    ]
    for name, spec in sorted(catalog.items()):
        metered = "true" if spec.get("metered") else "false"
        lines += [f'[catalog.actions."{name}"]', f"metered = {metered}", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> youthmode.Engine:
    folder = tmp_path_factory.mktemp("floors")
    for pack in FLOORS:
        shutil.copy(CONFIGS / f"{pack}.toml", folder)
        (folder / f"app-{pack}.toml").write_text(app_policy(pack), encoding="utf-8")
    return youthmode.Engine.from_path(folder)


def cases(pack: str) -> list[tuple[str, dict[str, Any]]]:
    tests, _, problems = read_test_file(CONFIGS / f"{pack}_test.toml")
    assert tests is not None and not problems
    return [(case.name, jsonable(case.request)) for case in tests.case]


@pytest.mark.parametrize("pack", sorted(FLOORS))
def test_an_app_with_the_pack_as_floor_never_allows_what_the_pack_denies(
    engine: youthmode.Engine, pack: str
) -> None:
    denied = 0
    for name, request in cases(pack):
        request = {**request, "subject": {**request["subject"], "jurisdiction": FLOORS[pack]}}
        own = engine.decide({**request, "policy": pack})
        through_app = engine.decide({**request, "policy": f"app-{pack}"})
        assert through_app.allowed == own.allowed, name
        assert set(own.reasons) <= set(through_app.reasons), name
        assert pack in [p.id for p in through_app.policies], name
        denied += not own.allowed
    assert denied >= 1  # the pack's tests deny something the floor must carry


# -- every shipped pack, over the whole diff domain -----------------------------------------------
# Each pack under the jurisdiction an app names it for (eu-dsa28: one member state of many).
EVERY_PACK = {
    **FLOORS,
    "au-smma": "AU",
    "br-eca-digital": "BR",
    "cn-baseline": "CN",
    "us-ca": "US-CA",
    "us-ny": "US-NY",
    "us-tx-sb2420": "US-TX",
    "vn-decree-147": "VN",
}


def test_every_shipped_pack_is_checked() -> None:
    shipped = {p.stem for p in CONFIGS.glob("*.toml") if not p.stem.endswith("_test")}
    assert set(EVERY_PACK) == shipped


@pytest.mark.parametrize("pack", sorted(EVERY_PACK))
def test_no_point_of_the_domain_lets_an_app_allow_what_its_floor_denies(
    tmp_path: Path, pack: str
) -> None:
    """Issue 15's "no pack allows what its own floor denies", on every point of the diff domain
    (the pack beside a rule-less app naming it as its floor), zoned and warning kinds included:
    the domain compares them now instead of refusing. Where the subject is in the pack's
    jurisdiction the app denies wherever the pack denies; elsewhere the pack does not bind."""
    key = EVERY_PACK[pack]
    shutil.copy(CONFIGS / f"{pack}.toml", tmp_path)
    (tmp_path / f"app-{pack}.toml").write_text(app_policy(pack, key), encoding="utf-8")
    loaded = load_set([tmp_path])
    own, app = loaded.policies[pack], loaded.policies[f"app-{pack}"]
    # 2027: the packs with dates (us-al, us-la, us-ut) bind by then
    domain = Domain([own, app], years=[2027], floors=({}, loaded.policies))
    assert domain.floors.jurisdictions == [None, key]
    denied = [h for h in domain.run(lambda s: not s[0][0]) if h.guard.jurisdiction == key]
    # the pack denies something there (the floor has something to carry), unless it has no
    # rule in force (kr's repealed shutdown, us-ny's proposed rules)
    assert bool(denied) == any(enforced(r) for r in own.rules)
    for hit in denied:
        app_allowed, app_reasons = hit.signatures[1][:2]
        assert not app_allowed, hit.request(domain.zone, f"app-{pack}")
        assert set(hit.signatures[0][1]) <= set(app_reasons), hit.labels()
