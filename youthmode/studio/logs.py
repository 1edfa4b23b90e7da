"""Replay in the studio: the decision logs one may name, and a replay of one of them against the
edited set, streamed and capped.

Only `youthmode studio` replays, and only the logs its operator named when starting it (`--log
FILE`, or any file under `--logs-dir DIR`): a path typed in the page is resolved (symbolic
links and `..` included) and refused unless it lands there, so the page can never read an
arbitrary file of the machine. The served `/studio` has no log folders and says why.

A log may be large: it is read line by line (one line of at most `MAX_LINE_BYTES` in memory),
the replay keeps only counters and a few examples (`youthmode.authoring.replay`), and a
request stops after `max_lines` lines or `MAX_SECONDS`, saying so. Nothing is written.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from youthmode.authoring.replay import UNREADABLE, Replayer, ReplayError, Skipped
from youthmode.authoring.replay_report import report_json
from youthmode.studio.workspace import Edited, StudioError

MAX_LINES = 200_000  # about 10 s of replay on a busy 2-core machine (docs/replay.md)
MAX_SECONDS = 10.0  # a page waits for the answer: stop and say so rather than hang
MAX_LINE_BYTES = 1024 * 1024  # a decision record is a few KiB; longer is not one
MAX_EXAMPLES = 20
MAX_PATH_CHARS = 4096
LISTED_PER_FOLDER = 200
DISABLED = (
    "replay reads decision logs from this machine's disk, so only `youthmode studio "
    "--log FILE` (or `--logs-dir DIR`) offers it; the server's /studio does not"
)


@dataclass(frozen=True)
class LogFolders:
    """The logs an operator allowed: files given with `--log`, folders with `--logs-dir`."""

    files: tuple[Path, ...] = ()
    folders: tuple[Path, ...] = ()
    base: Path = Path(".")  # what a relative path typed in the page is relative to

    @classmethod
    def of(cls, files: Sequence[str | Path], folders: Sequence[str | Path]) -> LogFolders:
        return cls(tuple(map(Path, files)), tuple(map(Path, folders)), Path.cwd())

    @property
    def enabled(self) -> bool:
        return bool(self.files or self.folders)

    def listing(self) -> list[dict[str, Any]]:
        """The logs to offer in the page: the `--log` files, then each folder's files."""
        found = [self._entry(path) for path in self.files]
        for folder in self.folders:
            try:
                names = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
            except OSError:
                continue  # a folder gone since the start: nothing to offer from it
            found += [
                self._entry(p)
                for p in names[:LISTED_PER_FOLDER]
                if p.is_file() and self._allowed(Path(os.path.realpath(p)))
            ]
        return found

    def _allowed(self, real: Path) -> bool:
        """Whether a resolved path is a `--log` file or lies under a `--logs-dir` folder."""
        files = {Path(os.path.realpath(self.base / f)) for f in self.files}
        roots = [Path(os.path.realpath(self.base / d)) for d in self.folders]
        return real in files or any(real.is_relative_to(r) and real != r for r in roots)

    def _entry(self, path: Path) -> dict[str, Any]:
        try:
            size: int | None = path.stat().st_size
        except OSError:
            size = None
        return {"log": str(path), "size": size}

    def locate(self, typed: str) -> Path:
        """The real path of ``typed`` if it is an allowed log (raises StudioError if not)."""
        if not self.enabled:
            raise StudioError("log", DISABLED, 409, "Replay unavailable")
        path = Path(typed)
        real = Path(os.path.realpath(path if path.is_absolute() else self.base / path))
        if self._allowed(real):
            return real
        raise StudioError(
            "log",
            f"`{typed}` is not a log the studio was started with: name a `--log` file or a "
            "file under a `--logs-dir` folder",
        )


def log_field(body: dict[str, Any]) -> str:
    """`log`: a path as the page lists it, or typed."""
    value = body.get("log")
    if not isinstance(value, str) or not value.strip():
        raise StudioError("log", "`log` must be the path of a decision log")
    if len(value) > MAX_PATH_CHARS or "\x00" in value:
        raise StudioError("log", f"`log` must be a path of at most {MAX_PATH_CHARS} characters")
    return value


def whole_number(body: dict[str, Any], key: str, default: int, top: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise StudioError(key, f"`{key}` must be a whole number from 0 to {top:,}")
    return value


def open_log(real: Path, typed: str) -> BinaryIO:
    """Open an allowed log for reading; a missing, unreadable or special file is a problem."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC  # no FIFO may block us
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise StudioError("log", f"no log `{typed}`: the file does not exist", 404) from None
    except OSError as err:
        raise StudioError("log", f"`{typed}` cannot be read: {err.strerror}", 422) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise StudioError("log", f"`{typed}` is {what}, not a decision log", 422)
    return os.fdopen(fd, "rb")


class CappedLines:
    """The lines of an open log for `Replayer.feed`, one at a time, until the end of the file,
    ``max_lines`` lines or ``seconds`` seconds; `capped` then says which limit stopped it.

    A line over `MAX_LINE_BYTES` is not held: it is passed over, counted as unreadable, and
    handed on as a blank line so that the numbers of the lines after it stay right.
    """

    def __init__(
        self,
        file: BinaryIO,
        replayer: Replayer,
        source: str,
        max_lines: int = MAX_LINES,
        seconds: float = MAX_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.file, self.replayer, self.source = file, replayer, source
        self.max_lines, self.seconds, self.monotonic = max_lines, seconds, monotonic
        self.lines = 0
        self.consumed = 0  # bytes of the lines handed on (or passed over)
        self.capped: str | None = None
        self._any_record = False

    def __iter__(self) -> Iterator[bytes]:
        deadline = self.monotonic() + self.seconds
        while True:
            if self.monotonic() > deadline:
                if self.file.read(1):  # only a log with more to read was cut short
                    self.capped = "time"
                return
            line = self.file.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            if self.lines == self.max_lines:
                self.capped = "lines"  # a line was left: the log goes on
                return
            self.lines += 1
            self.consumed += len(line)
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                yield self._overlong(deadline)
                continue
            self._any_record = self._any_record or bool(line.strip())
            yield line

    def _overlong(self, deadline: float) -> bytes:
        why = f"a line of over {MAX_LINE_BYTES // 1024} KiB is not a decision record"
        if not self._any_record:
            raise ReplayError(self.source, self.lines, why)
        while self.monotonic() <= deadline:  # read past the rest of it, a chunk at a time
            rest = self.file.readline(64 * 1024)
            self.consumed += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        self.replayer.report.total += 1
        self.replayer.report.count_skip(Skipped(UNREADABLE, self.source, self.lines, why))
        return b"\n"


@dataclass(frozen=True)
class ReplayAsk:
    """What the page asked: which log, how many examples, how many lines at most."""

    typed: str
    examples: int
    max_lines: int

    @classmethod
    def of(cls, body: dict[str, Any]) -> ReplayAsk:
        return cls(
            log_field(body),
            whole_number(body, "examples", 3, MAX_EXAMPLES),
            whole_number(body, "max_lines", MAX_LINES, MAX_LINES),
        )


def replay_answer(
    edited: Edited, logs: LogFolders, ask: ReplayAsk, seconds: float = MAX_SECONDS
) -> dict[str, Any]:
    """`youthmode replay --json`'s report of one allowed log against the edited set, with how
    much of the log was read and whether a limit stopped it."""
    real = logs.locate(ask.typed)
    engine = edited.engine()  # an edited text with errors has nothing to replay yet
    started = time.monotonic()
    replayer = Replayer(engine, examples=ask.examples)
    with open_log(real, ask.typed) as file:
        size = os.fstat(file.fileno()).st_size
        lines = CappedLines(file, replayer, ask.typed, ask.max_lines, seconds)
        try:
            replayer.feed(lines, source=ask.typed)
        except ReplayError as err:
            raise StudioError("log", f"`{ask.typed}` is not a decision log: {err}", 422) from None
        read = {
            "lines": lines.lines,
            "bytes": lines.consumed,
            "size": size,
            "capped": lines.capped,
            "max_lines": ask.max_lines,
            "max_seconds": seconds,
            "seconds": round(time.monotonic() - started, 3),
        }
    return {"file": edited.name, "log": ask.typed, "read": read, **report_json(replayer.report)}
