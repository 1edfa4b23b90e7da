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
from youthmode.policies.loader import SourceFile, load_file_salvaging, policy_files
from youthmode.policies.resolve import ResolvedPolicy, resolve
from youthmode.policies.salvage import Salvaged, policy_id_in

__all__ = [
    "CompiledPolicy",
    "check_policies",
    "check_policies_noting",
    "load_policies",
    "policy_files",
]


def check_policies(paths: Iterable[str | Path]) -> tuple[list[CompiledPolicy], list[Problem]]:
    """Load, validate and compile; returns the policies (empty on error) and every problem."""
    policies, problems, _ = check_policies_noting(paths)
    return policies, problems


def check_policies_noting(
    paths: Iterable[str | Path],
) -> tuple[list[CompiledPolicy], list[Problem], list[str]]:
    """As `check_policies`, plus notes on what could not be checked and why.

    Every problem comes in one round: a file whose tables have errors is still cross-checked
    (bands, actions, day types, `extends`) through a mended copy (`salvage.py`), and what the
    mending could have caused is left out. What stays unchecked is said in the notes.
    """
    paths = list(paths)
    files = policy_files(paths)
    if not files:
        named = ", ".join(str(p) for p in paths)
        return [], [diagnostics.NO_POLICIES(named=named).at()], []
    problems: list[Problem] = []
    loaded: list[SourceFile] = []
    mended: dict[str, Salvaged] = {}
    notes: list[str] = []
    unloaded: list[str | None] = []  # the ids of files that did not load, where they show
    for path in files:
        source, found, salvaged = load_file_salvaging(path)
        problems.extend(found)
        if salvaged is not None:
            mended[str(path)] = salvaged
        if source is not None:
            loaded.append(source)
        elif found:
            notes.append(notes_of_unchecked(str(path)))
            unloaded.append(_policy_id_of(path))
    resolved, found = resolve(loaded)
    # A pack that did not load cannot be found by its children: not their mistake.
    found = [p for p in found if not _extends_unloaded(p, unloaded)]
    seen = {(p.code, p.file, p.key, p.message) for p in problems}  # stage 1 said it already
    found = [p for p in found if (p.code, p.file, p.key, p.message) not in seen]
    found = [p for p in found if not _masked(p, mended)]
    if any(s.bands_mended for s in mended.values()):
        notes += [notes_of_coverage(name) for name, s in mended.items() if s.bands_mended]
    problems = sorted([*problems, *found], key=Problem.sort_key)
    notes += notes_of_children(loaded, resolved, problems)
    if problems:
        return [], problems, notes
    return [compile_policy(p) for p in resolved], [], notes


def notes_of_unchecked(name: str) -> str:
    return (
        f"{name} is not cross-checked (bands, actions, extends) until the problem above is "
        "fixed, nor are the packs that extend it"
    )


def notes_of_children(
    loaded: list[SourceFile], resolved: list[ResolvedPolicy], problems: list[Problem]
) -> list[str]:
    """A pack is resolved onto its parent: one whose parent failed to resolve is not
    cross-checked (its own problems would be guesses); the notes say which waits for which."""
    by_id = {src.document.policy.id: src for src in loaded}
    done = {p.id for p in resolved}
    with_problems = {p.file for p in problems}
    notes = []
    for src in loaded:
        if src.document.policy.id in done or src.path in with_problems:
            continue
        seen, parent = {src.document.policy.id}, src.document.policy.extends
        while parent in by_id and parent not in seen and by_id[parent].path not in with_problems:
            seen.add(parent)
            parent = by_id[parent].document.policy.extends
        if parent in by_id and by_id[parent].path in with_problems:
            notes.append(
                f"{src.path} is not cross-checked until `{parent}`, which it extends, is fixed"
            )
    return notes


def notes_of_coverage(name: str) -> str:
    return f"{name}: whether the bands cover every age, until the band problems above are fixed"


def _policy_id_of(path: Path) -> str | None:
    try:
        return policy_id_in(path.read_bytes())
    except OSError:
        return None


def _extends_unloaded(problem: Problem, unloaded: list[str | None]) -> bool:
    if problem.code != diagnostics.UNKNOWN_POLICY.code:
        return False
    return None in unloaded or any(problem.message.endswith(f"`{pid}`") for pid in unloaded)


def _masked(problem: Problem, mended: dict[str, Salvaged]) -> bool:
    """Whether a cross-check's ``problem`` may come from mending a file, not from the files."""
    own = mended.get(problem.file or "")
    if own is not None and own.masks(problem):
        return True
    return any(s.masks_elsewhere(problem) for s in mended.values())


def load_policies(paths: Iterable[str | Path]) -> list[CompiledPolicy]:
    paths = list(paths)
    policies, problems = check_policies(paths)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return policies
