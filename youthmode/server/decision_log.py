"""The decision log: one JSON line per decision, enough to replay it, nothing more personal.

The subject id is pseudonymised with a keyed HMAC (stable for one key, useless without it), and
birthdates never appear: the log keeps the age the engine computed. With the request's usage,
the facts (local time, day type, age) and the policy digest, a decision can be replayed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import logging
import os
import stat
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import orjson
from pydantic_core import PydanticSerializationError

from youthmode.decision_json import dumps
from youthmode.engine import Clock, system_clock
from youthmode.model import Decision, DecisionRequest
from youthmode.server.logged_request import replayable

log = logging.getLogger("youthmode.decision_log")
OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
# A failing log is reported at most this often; the messages between are counted.
REPORT_EVERY_SECONDS = 60.0
PSEUDONYMS_KEPT = 4096
# A record's milliseconds and UTC offset, ".000+00:00" to ".999+00:00": looked up, not formatted
MILLIS = tuple(f".{ms:03d}+00:00" for ms in range(1000))


SWITCH_WORDS = frozenset({"on", "true", "yes", "1", "enabled", "false", "no", "0", "none", ""})


class DecisionLogError(ValueError):
    """The decision-log target cannot be written: `youthmode serve` refuses to start."""


def check_target(target: str) -> None:
    """Refuse, before any worker starts, a log file that cannot be created or appended to."""
    if target in ("-", "off"):
        return
    if target.strip().lower() in SWITCH_WORDS:
        # `on` or `false` is a setting meant as a switch, not a file to create beside the app
        raise DecisionLogError(
            f"decision log `{target}` reads as a switch, not a file: set YOUTHMODE_DECISION_LOG "
            "to `-` (stdout, the default), `off`, or a file path such as ./decisions.jsonl"
        )
    path = Path(target)
    folder = path.parent
    if not folder.is_dir():
        raise DecisionLogError(
            f"decision log `{target}`: the folder `{folder}` does not exist; create it or "
            "set YOUTHMODE_DECISION_LOG to `-` (stdout) or `off`"
        )
    if path.is_dir():
        raise DecisionLogError(f"decision log `{target}` is a folder, not a file")
    try:
        os.close(os.open(path, OPEN_FLAGS, 0o600))
    except OSError as err:
        raise DecisionLogError(
            f"decision log `{target}` cannot be opened for appending: {err.strerror or err}"
        ) from None


class RateLimited:
    """Logs at most one message per `every` seconds; says how many it held back."""

    def __init__(self, logger: logging.Logger, every: float = REPORT_EVERY_SECONDS) -> None:
        self._logger = logger
        self._every = every
        self._next = float("-inf")
        self._held = 0

    def error(self, message: str) -> None:
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        if self._held:
            message += f" ({self._held} more like this since the last report)"
        self._logger.error(message)
        self._held = 0
        self._next = now + self._every


def _count_failure() -> None:
    from youthmode.server.metrics import decision_log_failures

    decision_log_failures().inc()


class DecisionLog:
    """Writes decision records to a file, stdout (`-`), or nowhere (`off`).

    Each record is one line, written by one write() and so never interleaved with another
    worker's, and never buffered: a record is on disk (or in the pipe) when `record` returns.
    A record that cannot be written whole is lost, logged (rate-limited) and counted in
    `youthmode_decision_log_failures_total`; deciding goes on. A file that cannot be opened
    is tried again at the next record.
    """

    def __init__(
        self,
        target: str,
        key: bytes,
        *,
        on_failure: Callable[[], None] = _count_failure,
        report_every: float = REPORT_EVERY_SECONDS,
        clock: Clock = system_clock,
    ) -> None:
        self._clock = clock  # the app's: a record's `ts`
        self._target = target
        self._lock = threading.Lock()
        self._on_failure = on_failure
        self._complaints = RateLimited(log, report_every)
        self._fd: int | None = 1 if target == "-" else None
        self._regular = False
        # HMAC-SHA256 keyed once, copied per record; pseudonyms of recent subjects are kept
        # (a child's heartbeats repeat one id) in a table cleared when it fills
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._pseudonyms: dict[str, str] = {}
        self._stamp_second: tuple[int, ...] = ()
        self._stamp_head = ""
        if target not in ("-", "off"):
            try:
                self._open()
            except OSError as err:
                self._complaints.error(f"decision log `{target}` cannot be opened: {err}")

    @property
    def enabled(self) -> bool:
        return self._target != "off"

    def pseudonym(self, subject_id: str | None) -> str | None:
        if subject_id is None:
            return None
        if (known := self._pseudonyms.get(subject_id)) is not None:
            return known
        mac = self._mac.copy()
        # surrogatepass: a library caller's id may hold a lone surrogate, and still gets one stable
        # pseudonym (the same bytes as UTF-8 for every other id)
        mac.update(subject_id.encode("utf-8", "surrogatepass"))
        if len(self._pseudonyms) >= PSEUDONYMS_KEPT:
            self._pseudonyms.clear()
        made = self._pseudonyms[subject_id] = mac.hexdigest()[:32]
        return made

    def _timestamp(self) -> str:
        """The clock's time in UTC to the millisecond, as `isoformat(timespec="milliseconds")`
        writes it; the date and time up to the second are formatted once a second (read from
        its fields: `replace(microsecond=0)` alone cost more than the rest of this)."""
        now = self._clock().astimezone(UTC)
        second = (now.second, now.minute, now.hour, now.day, now.month, now.year)
        if second != self._stamp_second:
            self._stamp_head = now.isoformat(timespec="seconds")[:19]
            self._stamp_second = second
        return self._stamp_head + MILLIS[now.microsecond // 1000]

    def record(
        self,
        request: DecisionRequest | dict[str, Any],
        decision: Decision,
        latency_seconds: float,
        batch_id: str | None = None,
        *,
        request_id: str | None = None,
        key_id: str | None = None,
        dumped: bytes | str | None = None,
    ) -> bytes:
        """Write one line; return it (also when the log is off). ``dumped``: the decision's
        JSON (`decision_json.dumps`, or `model_dump_json()`) if already made: its policy,
        `next_allowed_at` and facts go into the line as they are, neither read back nor
        encoded a second time."""
        subject_id = (
            request["subject"].get("id") if isinstance(request, dict) else request.subject.id
        )
        if dumped is None:
            dumped = _dump(decision)
        elif isinstance(dumped, str):
            dumped = dumped.encode("utf-8")
        parts = (_sliced(dumped, decision) if dumped is not None else None) or _decoded(
            decision, dumped
        )
        policy, next_allowed_at, facts, floors, local_time = parts
        entry: dict[str, Any] = {
            "ts": self._timestamp(),
            "decision_id": decision.decision_id,
            "batch_id": batch_id,
            "request_id": request_id,
            "key_id": key_id,
            "policy": policy,
            "subject": self.pseudonym(subject_id),
            "request": replayable(request, decision, local_time),
            "effect": decision.effect,
            "reasons": decision.reason_codes,
            "band": decision.band,
            "remaining_seconds": decision.remaining_seconds,
            "next_allowed_at": next_allowed_at,
            "facts": facts,
            "latency_ms": round(latency_seconds * 1000, 3),
        }
        if floors is not None:  # jurisdiction floors: every pack that decided
            entry["policies"] = floors
        try:
            line = _encode_record(entry, decision, dumped)
        except (TypeError, ValueError) as err:
            if self.enabled:
                self._lost(err)
            return b""
        if self.enabled:
            self._write_line(line)
        return line

    def write(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        try:
            data = _encode(entry)
        except (TypeError, ValueError) as err:
            self._lost(err)
            return
        self._write_line(data)

    def _write_line(self, data: bytes) -> None:
        with self._lock:
            try:
                self._append(data)
            except OSError as err:
                self._lost(err)

    def _lost(self, err: Exception) -> None:
        self._on_failure()
        self._complaints.error(f"decision log `{self._target}`: a record was lost: {err}")

    def _open(self) -> int:
        fd = os.open(self._target, OPEN_FLAGS, 0o600)
        self._fd = fd
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        weakref.finalize(self, os.close, fd)  # open for the log's lifetime, then closed
        return fd

    def _append(self, data: bytes) -> None:
        fd = self._fd if self._fd is not None else self._open()
        if not self._regular:
            _write_all(fd, data)  # a pipe or terminal: nothing to undo, finish the line
            return
        # The lock is only contended for the length of one write; it lets a short write
        # (a full disk) be cut off again before another worker appends after it.
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            written = os.write(fd, data)
            if written != len(data):
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise OSError(errno.ENOSPC, f"short write: {written} of {len(data)} bytes")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


# orjson writes what `json.dumps(..., ensure_ascii=False, separators=(",", ":"), default=str)`
# writes, in a seventh of the time; datetimes go to `str` as json.dumps sends them.
# tests/test_decision_log_plain.py holds the two to the same bytes on the workload's lines.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_APPEND_NEWLINE
)


def _encode(entry: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(entry, default=str, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return _encode_slowly(entry)  # a lone surrogate, an integer past 64 bits, ...


def _encode_record(entry: dict[str, Any], decision: Decision, dumped: bytes | None) -> bytes:
    try:
        return orjson.dumps(entry, default=str, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        pass  # the request needs the slow way, which cannot take the response's fragments
    policy, next_allowed_at, facts, floors, _ = _decoded(decision, dumped)
    entry.update(policy=policy, next_allowed_at=next_allowed_at, facts=facts)
    if "policies" in entry:
        entry["policies"] = floors
    return _encode_slowly(entry)


def _encode_slowly(entry: dict[str, Any]) -> bytes:
    line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        return (line + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the request: keep the line UTF-8
        return (json.dumps(entry, separators=(",", ":"), default=str) + "\n").encode("ascii")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- the response's parts a record keeps, cut from its JSON text -------------------------------
# The policy, `next_allowed_at`, facts and floor packs (None: no floor applied) of a decision,
# as fragments of its JSON or as values, and the local time as its JSON has it. (A plain tuple:
# building a NamedTuple cost a tenth of cutting the parts out.)
Parts = tuple[Any, Any, Any, Any, str]

# The keys a decision's JSON has in the model's field order. Inside a JSON string a quote is
# always escaped, so `,"` never occurs there: each key below is found only where it is a key.
FACTS_KEY = b',"facts":{"local_time":"'
POLICY_KEY = b',"policy":{"id":"'
NEXT_KEY = b',"next_allowed_at":'
POLICY_VALUE_AT = len(b',"policy":')  # from POLICY_KEY's start
FACTS_VALUE_AT = len(b',"facts":')
FLOORS_KEY = b'},"policies":['
DEGRADED = b',"degraded":true'


def _sliced(dumped: bytes, decision: Decision) -> Parts | None:
    """The parts of ``dumped``, the decision's JSON, copied out of it; None if it does
    not read as expected (the record then decodes it). Before `facts` only `reasons` has keys
    of the policy's choosing (its messages' languages), whose values are strings; after
    `policy` come only `policies` and `degraded`, which the decision says are there or not."""
    facts_at = dumped.find(FACTS_KEY)
    policy_at = dumped.rfind(POLICY_KEY)
    if facts_at < 0 or policy_at < facts_at:
        return None
    next_allowed_at: Any = None  # null: the same in the line
    if decision.next_allowed_at is not None:
        if (next_at := dumped.rfind(NEXT_KEY, 0, facts_at)) < 0:
            return None
        next_allowed_at = orjson.Fragment(dumped[next_at + len(NEXT_KEY) : facts_at])
    end = len(dumped) - 1 - (len(DEGRADED) if decision.degraded else 0)
    policy_end = end
    floors = None
    if decision.policies is not None:
        if (floors_at := dumped.find(FLOORS_KEY, policy_at)) < 0:
            return None
        policy_end = floors_at + 1
        if decision.policies:  # an empty list is left out, as `body.get("policies") or None`
            floors = orjson.Fragment(dumped[floors_at + len(FLOORS_KEY) - 1 : end])
    time_at = facts_at + len(FACTS_KEY)
    return (
        orjson.Fragment(dumped[policy_at + POLICY_VALUE_AT : policy_end]),
        next_allowed_at,
        orjson.Fragment(dumped[facts_at + FACTS_VALUE_AT : policy_at]),
        floors,
        dumped[time_at : dumped.index(b'"', time_at)].decode("ascii"),
    )


def _dump(decision: Decision) -> bytes | None:
    try:
        return dumps(decision)
    except PydanticSerializationError:  # a lone surrogate in the facts: the model's values
        return None


def _decoded(decision: Decision, dumped: bytes | None) -> Parts:
    body = orjson.loads(dumped) if dumped is not None else decision.model_dump(mode="json")
    facts = body["facts"]
    floors = body.get("policies") or None
    return body["policy"], body["next_allowed_at"], facts, floors, facts["local_time"]
