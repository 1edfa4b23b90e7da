"""The languages of messages: zh-CN and en always, and those a pack declares in
`[policy] languages`. One check of a message's keys, used by the loader (stage 1, a file
whose languages are all its own) and by `validate_meta.py` (stage 2, with inherited ones)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from youthmode.errors import did_you_mean
from youthmode.policies import diagnostics as d
from youthmode.policies import diagnostics_meta as dm
from youthmode.policies.positions import KeyPath

BUILT_IN = ("zh-CN", "en")
TAG = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")


def undeclared(tag: str, languages: tuple[str, ...]) -> d.Finding:
    """The problem of a message key ``tag`` that is neither built in nor declared."""
    declared = (*BUILT_IN, *languages)
    if languages and TAG.match(tag):
        hint = did_you_mean(tag, declared) or f'add "{tag}" to [policy] languages'
        return dm.UNDECLARED_LANGUAGE(language=tag, hint=hint)
    # A pack without extra languages, or not a language tag: a key of the message table.
    hint = did_you_mean(tag, declared) or f"allowed keys: {', '.join(declared)}"
    return d.UNKNOWN_KEY(key=tag, hint=hint)


def raw_message_keys(raw: Mapping[str, Any]) -> list[tuple[KeyPath, d.Finding]]:
    """Undeclared message keys of a file as read, when it does not extend another (whose
    languages it would inherit): a file failing stage 1 still reports them at once."""
    meta = raw.get("policy")
    if not isinstance(meta, dict) or "extends" in meta:
        return []
    listed = meta.get("languages")
    declared = tuple(x for x in listed if isinstance(x, str)) if isinstance(listed, list) else ()
    rules = raw.get("rules")
    out: list[tuple[KeyPath, d.Finding]] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        message = rule.get("message") if isinstance(rule, dict) else None
        for tag in message if isinstance(message, dict) else ():
            if tag not in BUILT_IN and tag not in declared:
                out.append((("rules", i, "message", tag), undeclared(tag, declared)))
    return out
