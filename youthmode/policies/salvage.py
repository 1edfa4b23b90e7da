"""What `check` can still cross-check in a file whose tables have errors.

`youthmode check` promises every problem at once. A file whose tables fail the schema has no
`PolicyDocument`, so the cross-checks of stage 2 (bands and actions a rule names, day types,
`extends`, calendars) would wait for a second round. Instead, a copy of the file's tables is
mended just enough to validate (`salvage`): a key at fault is left out, a missing key gets a
stand-in value, and a rule that cannot be mended becomes a stand-in rule keeping its id, bands,
actions and tags. The mended document is cross-checked like any other, and what the mending
could have caused is dropped (`Salvaged.masks`): a problem at a mended key, band coverage when
a band was mended, an action or band left out. The mended document is never compiled: a file
with any error is rejected as before.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from youthmode.errors import Problem
from youthmode.policies import diagnostics as d
from youthmode.policies import kinds, schema
from youthmode.policies.positions import KeyPath
from youthmode.policies.source import format_key

# Stand-ins for a missing key, tried in turn until the key validates: a duration, a time of
# day, an amount, a number, a flag, a list, a table.
_STAND_INS: tuple[object, ...] = ("1m", "00:00", "0", 0, False, [], {})
_POLICY_STAND_INS = {"version": "0", "timezone": "UTC"}
_REFERENCES = ("id", "bands", "actions", "tags")  # what a stand-in rule keeps
_ROUNDS = len(_STAND_INS) + 4
_COVERAGE = frozenset({d.BAND_GAP_AGE.code, d.BAND_OVERLAP.code})
_REFERENCE_CODES = frozenset({d.UNKNOWN_BAND.code, d.UNKNOWN_ACTION.code, d.UNKNOWN_TAG.code})


@dataclass(slots=True)
class Salvaged:
    """A mended document, and what the mending leaves unchecked."""

    document: schema.PolicyDocument
    mended: set[str] = field(default_factory=set)  # keys left out or given stand-ins
    kept: set[str] = field(default_factory=set)  # keys of stand-in rules still checked
    left_out: set[str] = field(default_factory=set)  # band ids and action names left out
    bands_mended: bool = False
    misspelt_in: set[str] = field(default_factory=set)  # tables an unknown key was left out of

    def masks(self, problem: Problem) -> bool:
        """Whether ``problem`` of this file may come from the mending, not from the file."""
        if problem.code in _COVERAGE and self.bands_mended:
            return True
        key = problem.key or ""
        table = key.rpartition(".")[0]
        if problem.code == d.MISSING_KEY.code and table in self.misspelt_in:
            return True  # `timezon` is the `timezone` missing: its did-you-mean says so
        if any(_under(key, kept) for kept in self.kept):
            return False
        # A problem of a mended key, or of the table holding one (`invalid_window` of a rule
        # whose `between` was left out): the mending, not the file, may have caused it.
        return bool(key) and any(_under(key, m) or _under(m, key) for m in self.mended)

    def masks_elsewhere(self, problem: Problem) -> bool:
        """Whether ``problem`` of any file names a band or action this file's mending left out."""
        if problem.code not in _REFERENCE_CODES:
            return False
        return any(f"`{name}`" in problem.message for name in self.left_out)


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))


def salvage(raw: dict[str, Any], errors: list[Any]) -> Salvaged | None:
    """A mended copy of ``raw`` that validates, or None when nothing can be cross-checked
    (no `[policy]` table or no policy id: nothing can name or extend it)."""
    tables = copy.deepcopy(raw)
    mending = _Mending(tables)
    for _ in range(_ROUNDS):
        for error in errors:
            if not mending.mend(error):
                return None
        try:
            document = schema.PolicyDocument.model_validate(tables)
        except ValidationError as err:
            errors = [{"loc": file_path(e["loc"]), "type": e["type"]} for e in err.errors()]
            continue
        return Salvaged(
            document,
            mending.mended,
            mending.kept,
            mending.left_out,
            mending.bands_mended,
            mending.misspelt_in,
        )
    return None


def file_path(loc: tuple[Any, ...]) -> KeyPath:
    """A pydantic error's location as the file's own key path: union-member tags dropped."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if i == 2 and loc[0] == "rules" and part in kinds.MODELS:
            continue  # pydantic's union member: the rule's kind
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append(part)
    return tuple(out)


@dataclass(slots=True)
class _Mending:
    tables: dict[str, Any]
    mended: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    left_out: set[str] = field(default_factory=set)
    bands_mended: bool = False
    misspelt_in: set[str] = field(default_factory=set)
    tries: dict[KeyPath, int] = field(default_factory=dict)

    def mend(self, error: dict[str, Any]) -> bool:
        """Mend the tables where ``error`` is; False when it cannot be mended."""
        loc = file_path(tuple(error["loc"]))
        if not loc or (loc[0] == "policy" and loc[1:] in ((), ("id",))):
            return False
        if loc[0] == "bands":
            self.bands_mended = True
        if error["type"] in ("missing", "union_tag_not_found"):
            return self._stand_in(loc)
        if error["type"] == "extra_forbidden":
            self.misspelt_in.add(format_key(loc[:-1]))
        return self._leave_out(loc)

    def _leave_out(self, loc: KeyPath) -> bool:
        """Leave out the innermost key of a table on the way to ``loc``, never a whole list
        of rules, bands or actions: a rule at fault becomes a stand-in rule instead."""
        for end in range(len(loc), _outermost(loc) - 1, -1):
            container = _at(self.tables, loc[: end - 1])
            key = loc[end - 1]
            if isinstance(container, dict) and isinstance(key, str) and key in container:
                if loc[: end - 1] == ("policy",) and key in _POLICY_STAND_INS:
                    container[key] = _POLICY_STAND_INS[key]  # left out, the pack stops there
                else:
                    del container[key]
                self.mended.add(format_key(loc[:end]))
                if loc[: end - 1] == ("catalog", "actions"):
                    self.left_out.add(key)
                return True
        return self._stand_in_rule(loc)

    def _stand_in(self, loc: KeyPath) -> bool:
        """A missing key gets the next stand-in value; a rule without `kind`, a stand-in rule."""
        if len(loc) == 2 and loc[0] == "rules":
            return self._stand_in_rule(loc)
        container = _at(self.tables, loc[:-1])
        tried = self.tries.get(loc, 0)
        if not isinstance(container, dict) or tried >= len(_STAND_INS):
            return self._stand_in_rule(loc)
        self.tries[loc] = tried + 1
        key = loc[-1]
        container[key] = f"missing-{len(self.tries)}" if key == "id" else _STAND_INS[tried]
        self.mended.add(format_key(loc))
        if loc[0] == "bands" and key == "id":
            self.left_out.add(str(container[key]))
        return True

    def _stand_in_rule(self, loc: KeyPath) -> bool:
        """Replace the rule at ``loc`` by a `forbid` rule with its id and references."""
        if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
            return False
        rules = self.tables.get("rules")
        if not isinstance(rules, list) or loc[1] >= len(rules):
            return False
        rule = rules[loc[1]] if isinstance(rules[loc[1]], dict) else {}
        stand_in: dict[str, Any] = {"id": f"rule-{loc[1]}", "kind": "forbid", "actions": ["*"]}
        stand_in["message"] = {"zh-CN": "-", "en": "-"}
        for key in _REFERENCES:
            if _is_reference(rule.get(key), key):
                stand_in[key] = rule[key]
                self.kept.add(format_key((*loc[:2], key)))
        rules[loc[1]] = stand_in
        self.mended.add(format_key(loc[:2]))
        return True


def _outermost(loc: KeyPath) -> int:
    """How short a key path `_leave_out` may cut ``loc`` to: `rules[3].x`, `bands[0].x` and
    `catalog.actions."a.b"` at least, so one mistake leaves the other tables in place."""
    if loc[0] in ("rules", "bands") or loc[:2] == ("catalog", "actions"):
        return 3
    return 1


def _is_reference(value: object, key: str) -> bool:
    if key == "id":
        return isinstance(value, str) and re.fullmatch(r"[a-z0-9][a-z0-9._-]*", value) is not None
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _at(tables: Any, path: KeyPath) -> Any:
    """The value at ``path``, or None."""
    for part in path:
        if isinstance(part, str) and isinstance(tables, dict):
            tables = tables.get(part)
        elif isinstance(part, int) and isinstance(tables, list) and part < len(tables):
            tables = tables[part]
        else:
            return None
    return tables


_POLICY_ID = re.compile(r"^\[policy\][^\[]*?^\s*id\s*=\s*[\"']([^\"'\n]+)[\"']", re.M | re.S)


def policy_id_in(data: bytes) -> str | None:
    """The policy id a file that did not load meant to have, read from its text; None when
    it cannot be told (then any unknown `extends` may name it)."""
    found = _POLICY_ID.search(data.decode("utf-8", errors="replace"))
    return found[1] if found else None
