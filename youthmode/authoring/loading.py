"""Policies loaded together for `youthmode diff`, `floor` and `schedule`: the ids the paths
given define, with the files they extend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from youthmode.errors import PolicyError, Problem
from youthmode.policies import CompiledPolicy, check_policies, policy_files
from youthmode.policies.loader import load_file


@dataclass(frozen=True, slots=True)
class LoadedSet:
    """Policies loaded together, and the ids the primary paths define (in file order)."""

    policies: dict[str, CompiledPolicy]
    primary: tuple[str, ...]


def load_set(primary: Sequence[str | Path], extra: Sequence[str | Path] = ()) -> LoadedSet:
    """Load the policies of ``primary`` with the extra files they may need (parents).

    Extra files that define a policy id a primary file also defines are left out, so a new
    version of a policy can be loaded beside the folder that holds its old version. A single
    file that extends a policy not given is retried with the files of its own folder.
    """
    files = policy_files(primary)
    if not files:
        named = ", ".join(str(p) for p in primary)
        raise PolicyError([Problem("no_policies", f"no policy files (*.toml) found in `{named}`")])
    ids = {f: _file_policy_id(f) for f in files}
    primary_ids = tuple(i for i in ids.values() if i is not None)
    extras = [f for f in policy_files(extra) if f not in ids]
    chosen = [*files, *(f for f in extras if _file_policy_id(f) not in primary_ids)]
    policies, problems = check_policies(chosen)
    errors = [p for p in problems if p.severity == "error"]
    if errors and all(p.code == "unknown_policy" for p in errors) and not extra:
        siblings = [
            f
            for path in primary
            if Path(path).is_file()
            for f in policy_files([Path(path).parent])
            if f not in ids and _file_policy_id(f) not in primary_ids
        ]
        if siblings:
            policies, problems = check_policies([*chosen, *siblings])
            errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return LoadedSet({p.id: p for p in policies}, primary_ids)


def _file_policy_id(path: Path) -> str | None:
    source, _ = load_file(path)
    return source.document.policy.id if source is not None else None
