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
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from youthmode.engine import Clock, system_clock
from youthmode.facts import age_on
from youthmode.model import Decision, DecisionRequest, Usage, parse_amount

log = logging.getLogger("youthmode.decision_log")
OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
# A failing log is reported at most this often; the messages between are counted.
REPORT_EVERY_SECONDS = 60.0
PSEUDONYMS_KEPT = 4096


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
        self._stamp_second: datetime | None = None
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
        mac.update(subject_id.encode("utf-8"))
        if len(self._pseudonyms) >= PSEUDONYMS_KEPT:
            self._pseudonyms.clear()
        made = self._pseudonyms[subject_id] = mac.hexdigest()[:32]
        return made

    def _timestamp(self) -> str:
        """The clock's time in UTC to the millisecond, as `isoformat(timespec="milliseconds")`
        writes it; the date and time up to the second are formatted once a second."""
        now = self._clock().astimezone(UTC)
        second = now.replace(microsecond=0)
        if second != self._stamp_second:
            self._stamp_head = second.isoformat()[:19]
            self._stamp_second = second
        return f"{self._stamp_head}.{now.microsecond // 1000:03d}+00:00"

    def record(
        self,
        request: DecisionRequest | dict[str, Any],
        decision: Decision,
        latency_seconds: float,
        batch_id: str | None = None,
        *,
        request_id: str | None = None,
        key_id: str | None = None,
        dumped: str | None = None,
    ) -> dict[str, Any]:
        """Write one line. ``dumped``: `decision.model_dump_json()` if already made (it is
        read back, which is cheaper than dumping the model a second time)."""
        body = orjson.loads(dumped) if dumped is not None else decision.model_dump(mode="json")
        subject_id = (
            request["subject"].get("id") if isinstance(request, dict) else request.subject.id
        )
        entry: dict[str, Any] = {
            "ts": self._timestamp(),
            "decision_id": decision.decision_id,
            "batch_id": batch_id,
            "request_id": request_id,
            "key_id": key_id,
            "policy": body["policy"],
            "subject": self.pseudonym(subject_id),
            "request": _replayable(request, decision, body["facts"]["local_time"]),
            "effect": decision.effect,
            "reasons": decision.reason_codes,
            "band": decision.band,
            "remaining_seconds": decision.remaining_seconds,
            "next_allowed_at": body["next_allowed_at"],
            "facts": body["facts"],
            "latency_ms": round(latency_seconds * 1000, 3),
        }
        if body.get("policies"):  # jurisdiction floors: every pack that decided, with digest
            entry["policies"] = body["policies"]
        self.write(entry)
        return entry

    def write(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        try:
            data = _encode(entry)
        except (TypeError, ValueError) as err:
            self._lost(err)
            return
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
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _encode(entry: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(entry, default=str, option=_ORJSON_OPTIONS) + b"\n"
    except (orjson.JSONEncodeError, TypeError):
        return _encode_slowly(entry)  # a lone surrogate, an integer past 64 bits, ...


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


def _replayable(
    request: DecisionRequest | dict[str, Any], decision: Decision, local_time: str
) -> dict[str, Any]:
    """The request as the engine saw it, with the birthdate replaced by the computed age and
    `at` by the local time the engine used (``local_time``: as the decision's JSON has it)."""
    if isinstance(request, dict):
        data = request  # from `plain_request`: a new dict, ours to change
    else:
        data = request.model_dump(mode="json", exclude_none=True)
    subject = data.get("subject", {})
    subject.pop("id", None)
    if (birthdate := subject.pop("birthdate", None)) is not None:
        subject["age"] = _age_on_the_day(birthdate, decision)
    data["at"] = local_time
    return data


def _age_on_the_day(birthdate: Any, decision: Decision) -> int | None:
    """The age the birthdate gives on the decision's local day: the engine's, when it used
    one; else (an age signal with a narrower range won, or the policy does not accept the
    operator's word) computed here, so that a replay under other rules still has it."""
    if decision.facts.age is not None:
        return decision.facts.age
    try:
        birth = date.fromisoformat(str(birthdate))
    except ValueError:
        return None
    # The policy's rollover is not known here; `next_day` differs from `on_birthday` only on
    # the anniversary itself, where it gives the younger (the more protective) age.
    return age_on(birth, decision.facts.local_time.date(), "next_day")


# -- the logged request of a plain JSON body, without building the request model --------------
class _NotPlain(Exception):
    """The body needs the model to say what it means (`plain_request` gives up)."""


REQUEST_KEYS = frozenset({"policy", "subject", "action", "at", "usage", "resource", "guardian"})
RESOURCE_FIELDS = ("app", "category", "amount", "currency", "min_age", "recipient")
GUARDIAN_LISTS = ("consents", "exemptions", "exempt_apps")
GUARDIAN_FIELDS = (
    *GUARDIAN_LISTS,
    "daily_limit_seconds",
    "curfew",
    "more_curfews",
    "extra_seconds",
)
USAGE_FIELDS = tuple(Usage.model_fields)  # the model's order


def plain_request(body: Any) -> dict[str, Any] | None:
    """`DecisionRequest(body).model_dump(mode="json", exclude_none=True)`, read straight from a
    decided JSON body made of the plain types the contract names; None for anything else (a
    coercible value such as ``"12"`` for an age, an unknown field): the model says what that
    means. Field order and defaults are the model's (tests/test_decision_log_plain.py)."""
    try:
        return _plain(body)
    except _NotPlain:
        return None


def _plain(body: Any) -> dict[str, Any]:
    if type(body) is not dict or not REQUEST_KEYS.issuperset(body):
        raise _NotPlain
    out: dict[str, Any] = {}
    if (policy := _optional(body.get("policy"), str)) is not None:
        out["policy"] = policy
    out["subject"] = _subject(body.get("subject", {}))
    out["action"] = _exact(body.get("action"), str)
    if _optional(body.get("at"), str) is not None:
        out["at"] = None  # its place: `_replayable` writes the local time the engine used
    for key, read in (("usage", _usage), ("resource", _resource), ("guardian", _guardian)):
        if (value := body.get(key)) is not None:
            out[key] = read(value)
    return out


def _exact(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise _NotPlain
    return value


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else _exact(value, kind)


# Each part's fields in the model's order, with their one plain type; the sets are built once
# (this runs for every logged decision).
SUBJECT_FIELDS = (("id", str), ("birthdate", str), ("age", int), ("verified", bool))
SUBJECT_KEYS = frozenset(key for key, _ in SUBJECT_FIELDS)
USAGE_KEYS = frozenset(USAGE_FIELDS)
USAGE_SECONDS = tuple((key, key.endswith("_seconds")) for key in USAGE_FIELDS)
RESOURCE_KINDS = {"app": str, "category": str, "currency": str, "min_age": int, "recipient": str}
GUARDIAN_KEYS = frozenset(GUARDIAN_FIELDS)
GUARDIAN_SCALARS = GUARDIAN_FIELDS[len(GUARDIAN_LISTS) :]


def _subject(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not SUBJECT_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {}
    for key, kind in SUBJECT_FIELDS:
        if (value := data.get(key)) is not None:
            if type(value) is not kind:
                raise _NotPlain
            out[key] = value
    if "verified" not in out:
        out["verified"] = False
    return out


def _usage(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not USAGE_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {}
    for key, seconds in USAGE_SECONDS:
        if (value := data.get(key)) is not None:
            out[key] = _exact(value, int) if seconds else _amount(value)
    return out


def _amount(value: Any) -> str:
    if type(value) not in (str, int, Decimal):
        raise _NotPlain
    try:
        return str(parse_amount(value))
    except ValueError:
        raise _NotPlain from None


def _resource(data: Any) -> dict[str, Any]:
    if type(data) is not dict:
        raise _NotPlain
    out: dict[str, Any] = {}
    for key in RESOURCE_FIELDS:
        if (value := data.get(key)) is not None:
            out[key] = _amount(value) if key == "amount" else _exact(value, RESOURCE_KINDS[key])
    if len(out) == len(data):
        return out  # no open fields (nor nulls): the common case
    for key, value in data.items():  # the open fields, after the model's own
        if key in RESOURCE_FIELDS or value is None:
            continue
        if type(value) not in (str, int, bool, Decimal):
            raise _NotPlain
        out[key] = str(value) if type(value) is Decimal else value
    return out


def _guardian(data: Any) -> dict[str, Any]:
    if type(data) is not dict or not GUARDIAN_KEYS.issuperset(data):
        raise _NotPlain
    out: dict[str, Any] = {
        key: [] if data.get(key) is None else _strings(data[key]) for key in GUARDIAN_LISTS
    }
    for key in GUARDIAN_SCALARS:
        value = data.get(key)
        if value is None:
            continue
        if key == "curfew":
            out[key] = _strings(value)
        elif key == "more_curfews":
            out[key] = [_strings(pair) for pair in _exact(value, list)]
        else:
            out[key] = _exact(value, int)
    return out


def _strings(value: Any) -> list[str]:
    return [_exact(item, str) for item in _exact(value, list)]
