"""`youthmode packs`, the `reviewed` key (`review_overdue` after 6 months) and the consent-age
table (`configs/data/consent-ages.toml`, `unsourced_consent_age`), on the shipped packs and on
small policies written here. The clock is frozen: "6 months" is relative to the check's day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from test_policy_errors import policy, write

from youthmode import jurisdictions
from youthmode.authoring.checking import check_noting
from youthmode.cli import build_parser, main
from youthmode.policies import consent_ages
from youthmode.policies.in_force import review_overdue

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
TABLE = CONFIGS / "data" / "consent-ages.toml"

build_parser()  # import every authoring module before any test freezes the clock

# Every shipped pack: jurisdiction, status, in force from, until.
SHIPPED = {
    "au-smma": ("AU", "in_force", "2025-12-10", None),
    "br-eca-digital": ("BR", "in_force", "2026-03-17", None),
    "cn-baseline": (None, "in_force", None, None),
    "eu-dsa28": (None, "in_force", None, None),
    "eu-dsa28-av": (None, "in_force", "2025-07-14", None),
    "kr": ("KR", "in_force", None, None),
    "uk-aadc": ("GB", "in_force", "2021-09-02", None),
    "us-al": ("US-AL", "in_force", "2027-01-01", None),
    "us-ca": ("US-CA", "in_force", None, None),
    "us-co": ("US-CO", "in_force", "2025-10-01", None),
    "us-la": ("US-LA", "in_force", "2027-07-01", None),
    "us-ny": ("US-NY", "proposed", None, None),
    "us-tx-sb2420": ("US-TX", "in_force", "2026-05-28", None),
    "us-ut": ("US-UT", "in_force", "2027-05-06", None),
    "vn-decree-147": ("VN", "in_force", "2024-12-25", None),
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def reviewed_policy(folder: Path, reviewed: str) -> Path:
    return write(folder, policy(meta={"reviewed": reviewed}))


def warnings_at(path: Path, now: str) -> list[str]:
    _, problems, _ = check_noting([str(path)], datetime.fromisoformat(now))
    return [p.code for p in problems]


# -- review dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reviewed", "today", "due"),
    [
        (date(2026, 5, 27), date(2026, 11, 27), False),  # exactly 6 months: not yet
        (date(2026, 5, 27), date(2026, 11, 28), True),
        (date(2026, 8, 31), date(2027, 2, 28), False),  # no 31 February: due from 1 March
        (date(2026, 8, 31), date(2027, 3, 1), True),
        (date(2026, 12, 1), date(2026, 11, 27), False),  # reviewed after the check's day
        (None, date(2030, 1, 1), False),  # never reviewed: nothing to age
    ],
)
def test_review_is_overdue_after_six_months(reviewed: date | None, today: date, due: bool) -> None:
    assert review_overdue(reviewed, today) is due


def test_check_warns_on_an_old_review_by_the_packs_local_day(tmp_path: Path) -> None:
    path = reviewed_policy(tmp_path, "2026-05-27")  # Asia/Shanghai, UTC+8
    assert "review_overdue" not in warnings_at(path, "2026-11-27T15:59:59+00:00")
    # 16:00 UTC is 00:00 on the 28th in Shanghai: more than 6 months
    assert "review_overdue" in warnings_at(path, "2026-11-27T16:00:00+00:00")


def test_check_prints_the_review_warning_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    freezer.move_to("2027-01-15T12:00:00Z")
    path = reviewed_policy(tmp_path, "2026-05-01")
    code, out = run(capsys, "check", str(path))
    assert code == 0
    assert (
        ": review_overdue: policy `kids` was last reviewed on 2026-05-01, more than 6 months" in out
    )
    assert out.splitlines()[-1].endswith("0 errors, 1 warning")


def test_reviewed_must_be_a_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = reviewed_policy(tmp_path, "last spring")
    code, out = run(capsys, "check", str(path))
    assert code == 1
    assert "invalid_date: `last spring` is not a date (at `policy.reviewed`)" in out


def test_the_shipped_packs_are_reviewed_and_not_yet_due(freezer: Any) -> None:
    freezer.move_to("2026-12-01T12:00:00Z")
    _, problems, _ = check_noting([str(CONFIGS)], datetime.now(UTC))
    assert [p for p in problems if p.code == "review_overdue"] == []
    freezer.move_to("2027-06-03T12:00:00Z")  # the latest review is 2026-12-02
    _, problems, _ = check_noting([str(CONFIGS)], datetime.now(UTC))
    overdue = {p.message.split("`")[1] for p in problems if p.code == "review_overdue"}
    assert overdue == set(SHIPPED)  # every pack carries a review date, and it ages


# -- youthmode packs ------------------------------------------------------------------------------
def test_packs_lists_every_shipped_pack_with_status_dates_and_review(
    capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    freezer.move_to("2026-12-01T12:00:00Z")
    code, out = run(capsys, "packs", str(CONFIGS), "--format", "json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)["packs"]}
    assert set(rows) == set(SHIPPED)
    for pack, (where, status, start, end) in SHIPPED.items():
        row = rows[pack]
        assert (row["jurisdiction"], row["status"]) == (where, status), pack
        assert row["in_force"] == {"from": start, "until": end}, pack
        assert row["reviewed"] is not None and row["review_due"] is False, pack
    assert rows["kr"]["rules_not_in_force"] == {"shutdown-law": "repealed"}
    assert rows["cn-baseline"]["rules_not_in_force"] == {}
    assert rows["us-ca"]["rules_not_in_force"] == {
        "night-notifications": "enjoined",
        "school-notifications": "enjoined",
    }


def test_packs_text_marks_a_review_that_is_due(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], freezer: Any
) -> None:
    freezer.move_to("2027-01-15T12:00:00Z")
    reviewed_policy(tmp_path, "2026-05-01")
    code, out = run(capsys, "packs", str(tmp_path))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == [
        "pack",
        "jurisdiction",
        "status",
        "in",
        "force",
        "rules",
        "not",
        "in",
        "force",
        "reviewed",
    ]
    assert row.split() == [
        "kids",
        "-",
        "in_force",
        "always",
        "-",
        "2026-05-01",
        "(due:",
        "over",
        "6",
        "months)",
    ]


def test_packs_with_a_broken_policy_prints_the_errors_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, policy(meta={"status": "pending"}))
    code, out = run(capsys, "packs", str(tmp_path))
    assert code == 1
    assert "kids.toml:" in out and "status" in out
    assert "pack " not in out  # no table of half-loaded packs


# -- the consent-age table ------------------------------------------------------------------------
def test_the_shipped_table_loads_and_every_entry_is_sourced_and_dated() -> None:
    table = consent_ages.load(TABLE)
    assert {"FR", "DE", "IE", "ES", "IT", "GB", "US", "KR", "CN"} <= set(table)
    for entry in table.values():
        assert entry.source and entry.checked in {date(2026, 12, 1), date(2026, 12, 2)}, entry
        assert 13 <= entry.age <= 18
        if entry.verified:
            assert "https://" in entry.source, entry.jurisdiction
    _, problems = consent_ages.check(TABLE)
    assert problems == []


@pytest.mark.parametrize(
    ("code", "age", "verified"),
    [
        ("FR", 15, True),
        ("de", 16, True),
        ("ES", 14, True),
        ("GB", 13, True),  # UK GDPR art. 8(1), read at legislation.gov.uk
        ("US-CO", 13, True),  # no Colorado entry: the US one (16 CFR 312.2)
        ("KR", 14, True),
        ("CN", 14, True),
    ],
)
def test_consent_age_by_jurisdiction(code: str, age: int, verified: bool) -> None:
    entry = consent_ages.consent_age(consent_ages.load(TABLE), code)
    assert entry is not None and (entry.age, entry.verified) == (age, verified)


def test_no_entry_and_a_wrong_code() -> None:
    table = consent_ages.load(TABLE)
    assert consent_ages.consent_age(table, "PL") is None  # the tracker gives no figure
    with pytest.raises(jurisdictions.UnknownJurisdiction, match="did you mean `GB`"):
        consent_ages.consent_age(table, "UK")


def test_an_unsourced_entry_is_flagged_by_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, policy())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "consent-ages.toml").write_text(
        '[ages.FR]\nage = 15\nsource = "Loi 78-17 art. 7-1"\nverified = true\n\n'
        "[ages.IT]\nage = 14\nverified = false\n"
    )
    code, out = run(capsys, "check", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith(
        "consent-ages.toml:6:1: unsourced_consent_age: the consent age of `IT` has no `source`: "
        'nobody can check where it comes from (at `ages.IT`); add source = "the law and article, '
        'with a link", and verified = true once read'
    )
    assert lines[-1].endswith("0 errors, 1 warning")
    table = consent_ages.load(tmp_path / "data" / "consent-ages.toml")  # usable all the same
    assert table["IT"].source is None and table["FR"].age == 15


def test_a_malformed_table_is_an_error_saying_where_and_why(tmp_path: Path) -> None:
    path = tmp_path / "consent-ages.toml"
    path.write_text(
        'title = "x"\n'
        '[ages.FR]\nage = 12\nsource = "s"\n'
        '[ages.XX]\nage = 16\nsource = "s"\n'
        '[ages.IT]\nage = 14\nsource = "s"\nverified = "yes"\nchecked = "today"\nnotes = 1\n'
    )
    with pytest.raises(consent_ages.ConsentAgeError) as caught:
        consent_ages.load(path)
    found = [(p.code, p.line, p.key) for p in caught.value.problems]
    assert found == [
        ("unknown_key", 1, "title"),
        ("invalid_value", 3, "ages.FR.age"),
        ("invalid_jurisdiction", 5, "ages.XX"),
        ("unknown_key", 13, "ages.IT.notes"),
        ("invalid_date", 12, "ages.IT.checked"),
        ("invalid_type", 11, "ages.IT.verified"),
    ]
    assert "must be a whole number from 13 to 18, not 12" in str(caught.value)


def test_a_table_that_is_not_toml_or_missing(tmp_path: Path) -> None:
    path = tmp_path / "consent-ages.toml"
    path.write_text("[ages.FR\n")
    assert [p.code for p in consent_ages.check(path)[1]] == ["toml_syntax"]
    assert [p.code for p in consent_ages.check(tmp_path / "none.toml")[1]] == ["unreadable_file"]
