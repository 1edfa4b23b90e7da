"""`subject.jurisdiction`: ISO 3166 codes, matched case-insensitively, typos refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from youthmode import jurisdictions
from youthmode.jurisdictions import UnknownJurisdiction, country_of, lookup_order, normalise


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ("VN", "VN"),
        ("vn", "VN"),
        (" br ", "BR"),
        ("US-TX", "US-TX"),
        ("us-tx", "US-TX"),
        ("CN-BJ", "CN-BJ"),
        ("GB-ENG", "GB-ENG"),
        ("AU", "AU"),
        ("US", "US"),
    ],
)
def test_iso_codes_are_accepted_in_any_case(sent: str, code: str) -> None:
    assert normalise(sent) == code


@pytest.mark.parametrize(
    ("sent", "hint"),
    [
        ("UK", "did you mean `GB`?"),
        ("VNM", "did you mean `VN`?"),
        ("US-TXX", "did you mean `US-TX`?"),
        ("XX", None),
        ("", None),
        ("x" * 10_000, None),
        ("\ud800", None),
        ("US_TX", None),
        ("EU", None),
    ],
)
def test_anything_else_is_refused_with_a_reason(sent: str, hint: str | None) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        normalise(sent)
    message = str(caught.value)
    assert "is not an ISO 3166-1 alpha-2 country" in message
    assert message.isascii() and len(message) < 200  # safe to echo, whatever was sent
    if hint:
        assert message.endswith(hint)
    else:
        assert "did you mean" not in message


def test_a_subdivision_is_looked_up_before_its_country() -> None:
    assert lookup_order("US-TX") == ("US-TX", "US")
    assert lookup_order("VN") == ("VN",)
    assert country_of("US-TX") == "US" and country_of("BR") == "BR"


def test_the_tables_read_from_pycountry_s_files_are_pycountry_s_own() -> None:
    import pycountry

    assert jurisdictions.countries() == {c.alpha_2 for c in pycountry.countries}
    assert jurisdictions.subdivisions() == {s.code.upper() for s in pycountry.subdivisions}
    assert {"CN", "VN", "BR"} <= jurisdictions.countries()
    assert {"US-TX", "US-UT", "CN-BJ", "GB-ENG"} <= jurisdictions.subdivisions()


@pytest.mark.parametrize("layout", ["no package", "no file", "not a table"])
def test_an_unexpected_layout_falls_back_to_pycountry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, layout: str
) -> None:
    expected = (jurisdictions.countries(), jurisdictions.subdivisions())
    if layout == "no package":
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    else:
        (tmp_path / "databases").mkdir()
        if layout == "not a table":
            for name in ("iso3166-1.json", "iso3166-2.json"):
                (tmp_path / "databases" / name).write_text('{"3166-1": 7, "3166-2": [1]}')
        spec = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    jurisdictions.countries.cache_clear()
    jurisdictions.subdivisions.cache_clear()
    try:
        assert (jurisdictions.countries(), jurisdictions.subdivisions()) == expected
    finally:
        jurisdictions.countries.cache_clear()
        jurisdictions.subdivisions.cache_clear()
