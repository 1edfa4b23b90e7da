"""The policies a server is serving, and how they change: all or nothing, never down.

`PolicyHolder` keeps the engine in force behind one reference that is swapped atomically, so a
request in flight keeps the engine it started with. A reload that finds any problem changes
nothing and is recorded (which file, which line) for `/readyz`. Every good load is copied to a
last-good snapshot in the state folder, so a worker that starts while the files on disk are
broken still serves the last good policies instead of failing to boot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from youthmode.engine import Clock, Engine, system_clock
from youthmode.errors import PolicyError, Problem
from youthmode.policies import policy_files
from youthmode.policies.consent_ages import TABLE_PATH

log = logging.getLogger("youthmode.reload")


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    at: datetime
    digest: str | None
    problems: tuple[Problem, ...] = ()
    source: str = "files"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at.isoformat(),
            "digest": self.digest,
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }


def set_digest(engine: Engine) -> str:
    """One digest for the whole set of loaded policies."""
    parts = sorted(f"{p.id}={p.digest}" for p in engine.policies.values())
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def fingerprint(folder: str | Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detection for polling: names, sizes and modification times, of the policy
    files and of the consent-age table beside them (a changed age changes decisions)."""
    out = []
    for path in [*policy_files([folder]), Path(folder) / TABLE_PATH]:
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(out)


class PolicyHolder:
    """The engine in force, its load time, and the outcome of the last reload attempt."""

    def __init__(
        self,
        folder: str | Path,
        state_dir: str | Path,
        default_policy: str | None,
        clock: Clock = system_clock,
    ) -> None:
        self.clock = clock  # the app's: load times, and the engines it loads decide by it
        self.folder = Path(folder)
        self.state_dir = Path(state_dir)
        self.default_policy = default_policy
        self._lock = threading.Lock()
        self.engine, self.loaded_at, self.source = self._boot()
        self.digest = set_digest(self.engine)
        if self.source == "files":
            self._record(ReloadResult(True, self.loaded_at, self.digest, (), "boot"))
        self._fingerprint = fingerprint(self.folder)
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self.on_reload: list[Callable[[ReloadResult], None]] = []

    @property
    def snapshot_dir(self) -> Path:
        return self.state_dir / "last-good-policies"

    @property
    def status_file(self) -> Path:
        return self.state_dir / "reload-status.json"

    def _boot(self) -> tuple[Engine, datetime, str]:
        try:
            engine = self._load(self.folder).warm()
        except Exception as err:  # any failure: a worker that fails to boot stops gunicorn
            if not any(self.snapshot_dir.glob("*.toml")):
                raise
            log.error(
                "policies in %s do not load; serving the last good snapshot:\n%s", self.folder, err
            )
            self._record(
                ReloadResult(False, self._now(), None, load_problems(err, self.folder), "boot")
            )
            engine = self._load(self.snapshot_dir)
            return engine.warm(), self._now(), "last-good snapshot"
        self._snapshot(engine)
        return engine, self._now(), "files"

    def _load(self, folder: Path) -> Engine:
        return Engine.from_path(folder, clock=self.clock, default_policy=self.default_policy)

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def reload(self, source: str = "admin") -> ReloadResult:
        """Load the folder again; swap only if everything loads. Never raises PolicyError."""
        with self._lock:
            self._fingerprint = fingerprint(self.folder)
            try:
                engine = self._load(self.folder).warm()
            except Exception as err:  # whatever fails, the load is rejected, never the server
                problems = load_problems(err, self.folder)
                result = ReloadResult(False, self._now(), self.digest, problems, source)
                log.error("reload (%s) rejected; still serving %s:\n%s", source, self.digest, err)
            else:
                self.engine, self.loaded_at, self.source = engine, self._now(), "files"
                self.digest = set_digest(engine)
                self._snapshot(engine)
                result = ReloadResult(True, self.loaded_at, self.digest, (), source)
                log.info("reload (%s) now serving %s", source, self.digest)
            self._record(result)
        for listener in self.on_reload:
            listener(result)
        return result

    def last_reload(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.status_file.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def stale(self) -> bool:
        """The files on disk are not what is served: the last reload attempt failed."""
        last = self.last_reload()
        return self.source != "files" or bool(last and not last.get("ok"))

    def start_polling(self, seconds: float) -> None:
        if seconds <= 0 or self._poller is not None:
            return
        self._poller = threading.Thread(
            target=self._poll, args=(seconds,), daemon=True, name="youthmode-policy-poll"
        )
        self._poller.start()

    def stop_polling(self) -> None:
        self._stop.set()

    def poll_once(self) -> ReloadResult | None:
        if fingerprint(self.folder) == self._fingerprint:
            return None
        return self.reload("poll")

    def _poll(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            try:
                self.poll_once()
            except Exception:  # the poller must outlive any one bad attempt
                log.exception("policy polling failed")

    def _snapshot(self, engine: Engine) -> None:
        """Write the exact bytes that loaded to the last-good snapshot, atomically.

        Not a copy of the folder: the files may have changed since they were read.
        """
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=self.state_dir))
            sources = {path: data for p in engine.policies.values() for path, data in p.sources}
            for path, data in sources.items():
                target = staging / _snapshot_name(path)
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(data)
            old = self.state_dir / f".old-{os.getpid()}-{threading.get_ident()}"
            if self.snapshot_dir.exists():
                self.snapshot_dir.rename(old)
            staging.rename(self.snapshot_dir)
            shutil.rmtree(old, ignore_errors=True)
        except OSError:
            log.warning(
                "could not write the last-good snapshot in %s", self.state_dir, exc_info=True
            )

    def _record(self, result: ReloadResult) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.status_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(result.to_dict()), encoding="utf-8")
            tmp.replace(self.status_file)
        except OSError:
            log.warning("could not record the reload status", exc_info=True)


def _snapshot_name(path: str) -> Path:
    """Where a loaded file goes in the snapshot: a policy by its name, the consent-age table
    the packs read beside them in its `data/` folder, as in the policy folder."""
    if Path(path).match(f"*/{TABLE_PATH}") or Path(path) == TABLE_PATH:
        return TABLE_PATH
    return Path(Path(path).name)


def load_problems(err: Exception, folder: Path) -> tuple[Problem, ...]:
    """Why a load failed, as problems for `/readyz` and the admin reload answer."""
    if isinstance(err, PolicyError):
        return tuple(err.problems)
    if isinstance(err, ValueError):  # a default policy that is not loaded
        return (Problem("unknown_policy", str(err), str(folder)),)
    reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return (Problem("unreadable_file", f"policies in `{folder}` could not be loaded: {reason}"),)
