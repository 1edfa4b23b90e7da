"""The policies a studio session works on: the served folder, with one file's text replaced by
the text being edited, loaded and checked entirely in memory.

The library loads policies from paths. A `MemoryFile` is a path whose bytes are the edited
text, so the edited file runs through the very loader, resolver and compiler `youthmode check`
uses, problems are reported under the file's own name, and nothing is ever written: every
method that would write or touch the disk raises.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PosixPath
from typing import Any, NoReturn

from youthmode.authoring.checking import calendar_problems
from youthmode.authoring.loading import LoadedSet
from youthmode.engine import Engine
from youthmode.errors import Problem
from youthmode.policies import CompiledPolicy, in_force, policy_files
from youthmode.policies.compile import compile_policy
from youthmode.policies.loader import SourceFile, load_file
from youthmode.policies.resolve import resolve

TEST_SUFFIX = "_test.toml"
Loaded = tuple[SourceFile | None, list[Problem]]


class StudioError(ValueError):
    """A studio request that cannot be answered: ``field`` names what was wrong."""

    def __init__(
        self, field: str, message: str, status: int = 400, title: str | None = None
    ) -> None:
        super().__init__(message)
        self.field, self.status, self.title = field, status, title


class MemoryFile(PosixPath):
    """A policy file's path whose content is held in memory; it refuses every write."""

    _text: bytes

    @classmethod
    def holding(cls, path: Path, text: str) -> MemoryFile:
        made = cls(path)
        made._text = text.encode("utf-8")
        return made

    def read_bytes(self) -> bytes:
        return self._text

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self._text.decode(encoding or "utf-8", errors or "strict")

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"the studio never writes files (`{self}`)")

    # Only reading is needed; any write is a bug that must not reach the served folder.
    write_bytes = write_text = touch = unlink = rename = replace = mkdir = _refuse


@dataclass(frozen=True, slots=True)
class Edited:
    """The served policies with one file replaced by its edited text, and what check found."""

    name: str  # the edited file's path, as problems name it
    policies: dict[str, CompiledPolicy]
    primary: tuple[str, ...]  # the ids the edited file defines
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def engine(self) -> Engine:
        """An engine of the edited set (raises StudioError while it has errors)."""
        if self.errors:
            raise StudioError("text", "the edited file has errors; fix them first", 422)
        return Engine(self.policies.values())

    def loaded_set(self) -> LoadedSet:
        return LoadedSet(dict(self.policies), self.primary)


class Workspace:
    """The served policy folders (read, never written) that edited files are checked among."""

    def __init__(self, folders: Sequence[str | Path]) -> None:
        self.folders = [Path(f) for f in folders]
        # The files not being edited are read again only when they change on disk: checking
        # as one types then parses one file, not the whole folder.
        self._read: dict[Path, tuple[tuple[int, int], Loaded]] = {}
        self._lock = threading.Lock()

    def files(self) -> dict[str, Path]:
        """The policy files one may open, by file name, in load order."""
        return {p.name: p for p in policy_files(self.folders)}

    def path_of(self, name: str) -> Path:
        """The served file called ``name`` (raises StudioError naming the files there are)."""
        found = self.files().get(name)
        if found is None:
            known = ", ".join(self.files()) or "none"
            raise StudioError("file", f"no policy file `{name}` is served; known: {known}", 404)
        return found

    def test_file(self, name: str) -> Path | None:
        """The policy test file beside ``name`` (`cn-baseline.toml` -> `cn-baseline_test.toml`)."""
        path = self.path_of(name)
        beside = path.with_name(path.stem + TEST_SUFFIX)
        return beside if beside.is_file() else None

    def served(self) -> LoadedSet:
        """The served set, as loaded now (raises StudioError if it does not load)."""
        edited = self._load(self.files().values(), ())
        if edited.errors:
            raise StudioError("policies", "the served policies do not load", 409)
        return edited.loaded_set()

    def edit(self, name: str, text: str, now: datetime) -> Edited:
        """The served set with ``name`` holding ``text``: loaded, checked, compiled."""
        target = self.path_of(name)
        paths = [MemoryFile.holding(p, text) if p == target else p for p in self.files().values()]
        return self._load(paths, (target,), now)

    def _load(self, paths: Any, edited: Sequence[Path], now: datetime | None = None) -> Edited:
        problems: list[Problem] = []
        loaded: list[SourceFile] = []
        for path in paths:
            source, found = self._load_file(path)
            problems += found  # a new list: the cached one stays as read
            if source is not None:
                loaded.append(source)
        names = {str(p) for p in edited}
        primary = tuple(s.document.policy.id for s in loaded if s.path in names)
        policies: list[CompiledPolicy] = []
        if not problems:
            resolved, problems = resolve(loaded)
            if not problems:
                policies = [compile_policy(p) for p in resolved]
        if now is not None and policies:
            problems += calendar_problems(policies, now) + in_force.meta_warnings(policies, now)
        problems.sort(key=Problem.sort_key)
        name = str(edited[0]) if edited else ""
        return Edited(name, {p.id: p for p in policies}, primary, problems)

    def _load_file(self, path: Path) -> Loaded:
        if isinstance(path, MemoryFile):
            return load_file(path)
        try:
            stat = path.stat()
        except OSError:
            return load_file(path)  # the loader words the problem
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._read.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        loaded = load_file(path)
        with self._lock:
            self._read[path] = (key, loaded)
        return loaded
