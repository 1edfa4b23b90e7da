"""`subject.jurisdiction`: ISO 3166 codes, matched case-insensitively, typos refused."""

from __future__ import annotations

import pytest

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
