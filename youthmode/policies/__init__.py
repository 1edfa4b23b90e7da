"""Policy files to compiled policies, in three stages.

1. `loader`   read TOML with the position of every key (`source`), validate tables (`schema`)
2. `resolve`  merge each pack onto the one it `extends`; `validate` cross-checks bands,
              actions, days, ids (every problem's code and words: `diagnostics`)
3. `compile`  build the immutable per-action, per-band form that decisions run on

`load_policies` runs all three and raises `PolicyError` listing every problem at once; a set
with any error is rejected whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from youthmode.errors import PolicyError, Problem
from youthmode.policies import diagnostics
from youthmode.policies.compile import CompiledPolicy, compile_policy
from youthmode.policies.loader import SourceFile, load_file, policy_files
from youthmode.policies.resolve import resolve

__all__ = ["CompiledPolicy", "check_policies", "load_policies", "policy_files"]


def check_policies(paths: Iterable[str | Path]) -> tuple[list[CompiledPolicy], list[Problem]]:
    """Load, validate and compile; returns the policies (empty on error) and every problem."""
    files = policy_files(paths)
    if not files:
        named = ", ".join(str(p) for p in paths)
        return [], [diagnostics.NO_POLICIES(named=named).at()]
    problems: list[Problem] = []
    loaded: list[SourceFile] = []
    for path in files:
        source, found = load_file(path)
        problems.extend(found)
        if source is not None:
            loaded.append(source)
    if problems:
        return [], problems
    resolved, found = resolve(loaded)
    if found:
        return [], found
    return [compile_policy(p) for p in resolved], []


def load_policies(paths: Iterable[str | Path]) -> list[CompiledPolicy]:
    paths = list(paths)
    policies, problems = check_policies(paths)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return policies
