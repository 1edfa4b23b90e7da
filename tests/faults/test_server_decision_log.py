"""Fault suite, decision log: a log that cannot be written never stops deciding, never tears
or glues lines, and every lost record is counted (issue 10).

On e482a15 a worker whose log folder had gone failed to boot (and took gunicorn down), stdout
was block-buffered (10 decisions then kill -9 left no line), and a full disk raised into the
request. The server-level checks are in tests/test_server.py.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import youthmode
from youthmode.server import decision_log as module
from youthmode.server.decision_log import DecisionLog, DecisionLogError, check_target
from youthmode.server.metrics import PROCESS_REGISTRY

GAME = {
    "subject": {"id": "u-42", "age": 12, "verified": True},
    "action": "game.play",
    "at": "2026-11-27T20:30:00+08:00",
    "usage": {"today_seconds": 1200},
}
FAILURES = "youthmode_decision_log_failures_total"


def failures() -> float:
    return PROCESS_REGISTRY.get_sample_value(FAILURES) or 0.0


def entry(n: int, size: int = 100) -> dict[str, Any]:
    return {"n": n, "pad": "x" * size}


def lines_of(path: Path) -> list[dict[str, Any]]:
    """Every line of the log, each of which must be one whole JSON record."""
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def test_record_carries_request_and_key_ids(tmp_path: Path, engine: youthmode.Engine) -> None:
    log = DecisionLog(str(tmp_path / "d.jsonl"), b"k")
    log.record(engine.parse(GAME), engine.decide(GAME), 0.001, request_id="req-1", key_id="backend")
    log.record(engine.parse(GAME), engine.decide(GAME), 0.001)
    first, second = lines_of(tmp_path / "d.jsonl")
    assert first["request_id"] == "req-1" and first["key_id"] == "backend"
    assert second["request_id"] is None and second["key_id"] is None
    assert first["subject"] != "u-42" and "id" not in first["request"]["subject"]


def test_the_log_file_is_created_private(tmp_path: Path) -> None:
    DecisionLog(str(tmp_path / "d.jsonl"), b"k").write(entry(1))
    assert (tmp_path / "d.jsonl").stat().st_mode & 0o777 == 0o600


def test_disk_full_loses_whole_records_and_counts_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = iter(range(10_000))

    def full_every_third(fd: int, data: Any) -> int:
        if next(calls) % 3 == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    log = DecisionLog(str(tmp_path / "d.jsonl"), b"k")
    before = failures()
    monkeypatch.setattr(module.os, "write", full_every_third)
    for n in range(30):
        log.write(entry(n))
    monkeypatch.undo()
    written = lines_of(tmp_path / "d.jsonl")
    assert [r["n"] for r in written] == [n for n in range(30) if n % 3 != 2]
    assert failures() - before == 10


def test_a_short_write_is_cut_off_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    log = DecisionLog(str(tmp_path / "d.jsonl"), b"k")
    log.write(entry(0))
    before = failures()

    def half(fd: int, data: Any) -> int:  # what a disk that fills up mid-line does
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(module.os, "write", half)
    log.write(entry(1, size=5000))
    monkeypatch.undo()
    log.write(entry(2))
    assert [r["n"] for r in lines_of(tmp_path / "d.jsonl")] == [0, 2]
    assert failures() - before == 1


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (CI runs as root); skipped where mounting is not allowed."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_really_full_disk_keeps_lines_whole(tiny_disk: Path) -> None:
    log = DecisionLog(str(tiny_disk / "d.jsonl"), b"k")
    before = failures()
    for n in range(300):  # 300 records of about 1 KB: far more than 64 KiB
        log.write(entry(n, size=1000 + n % 7 * 100))
    written = lines_of(tiny_disk / "d.jsonl")
    lost = failures() - before
    assert written and lost > 0
    assert len(written) + lost == 300
    assert [r["n"] for r in written] == sorted(r["n"] for r in written)


WRITER = """
import sys
from youthmode.server.decision_log import DecisionLog
log = DecisionLog(sys.argv[1], b"k")
for n in range(400):
    log.write({"writer": sys.argv[2], "n": n, "pad": "x" * (n * 37 % 9000)})
"""


def test_concurrent_workers_never_interleave_lines(tmp_path: Path) -> None:
    target = str(tmp_path / "d.jsonl")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, target, str(w)]) for w in range(4)]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    records = lines_of(tmp_path / "d.jsonl")  # lines up to 9 KB: over PIPE_BUF, several pages
    assert len(records) == 1600
    for w in range(4):
        assert [r["n"] for r in records if r["writer"] == str(w)] == list(range(400))


def test_a_missing_folder_is_counted_then_the_log_recovers(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "d.jsonl"
    log = DecisionLog(str(target), b"k")  # a worker starting after the folder went away
    before = failures()
    for n in range(3):
        log.write(entry(n))
    assert failures() - before == 3
    target.parent.mkdir()
    log.write(entry(3))
    assert [r["n"] for r in lines_of(target)] == [3]


def test_failures_are_reported_at_most_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, freezer: Any
) -> None:
    caplog.set_level(logging.ERROR, logger="youthmode.decision_log")
    log = DecisionLog(str(tmp_path / "gone" / "d.jsonl"), b"k")
    for n in range(100):
        log.write(entry(n))
    assert len(caplog.records) == 1 and "cannot be opened" in caplog.records[0].message
    freezer.tick(59)
    log.write(entry(100))
    assert len(caplog.records) == 1
    freezer.tick(2)
    log.write(entry(101))
    assert len(caplog.records) == 2
    assert "a record was lost" in caplog.records[1].message
    assert "(101 more like this since the last report)" in caplog.records[1].message


def test_a_lone_surrogate_keeps_the_line_utf8(tmp_path: Path) -> None:
    DecisionLog(str(tmp_path / "d.jsonl"), b"k").write({"text": "a\ud800b"})
    assert lines_of(tmp_path / "d.jsonl") == [{"text": "a\ud800b"}]


def test_off_writes_nothing_and_counts_nothing(tmp_path: Path) -> None:
    log = DecisionLog("off", b"k")
    before = failures()
    log.write(entry(1))
    assert not log.enabled and failures() == before


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{tmp}/missing/d.jsonl", "the folder `{tmp}/missing` does not exist"),
        ("{tmp}", "is a folder, not a file"),
        ("on", "reads as a switch, not a file"),
        ("False", "reads as a switch, not a file"),
    ],
)
def test_check_target_refuses_what_cannot_be_written(
    tmp_path: Path, target: str, message: str
) -> None:
    with pytest.raises(DecisionLogError) as refused:
        check_target(target.format(tmp=tmp_path))
    assert message.format(tmp=tmp_path) in str(refused.value)
    assert not Path(target).exists()  # nothing was created in the working folder


def test_check_target_accepts_stdout_off_and_a_new_file(tmp_path: Path) -> None:
    for target in ("-", "off", str(tmp_path / "d.jsonl")):
        check_target(target)
    assert (tmp_path / "d.jsonl").stat().st_mode & 0o777 == 0o600
