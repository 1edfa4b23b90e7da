"""The engine's compiled stages (C extensions built by `pip install`), loaded only when they
are current: each carries the SHA-256 of the C source it was built from (with the header all
stages share, _compiled.h), and a module whose source has changed since (an edited checkout not
yet rebuilt) is not used. Every stage has a
pure Python twin that stays the reference: a missing compiler, a failed build, a stale module
or ``YOUTHMODE_PURE=1`` leaves the engine on the Python path, with the same answers
(docs/performance.md, "A compiled request reader").
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
# Every compiled stage (setup.py builds each from youthmode/<name>.c), in the order a decision
# meets them: the request reader, the fast path's set-up, walk and facts, the response's
# models and id, the decision log's reading of the request, the fast path's verdicts and
# decision (after _fastpath: it calls its set-up, walk and facts), the response's JSON, and
# (before them all, but added last) the request body's number check, and (around the reader
# and the verdicts, added last) the engine's routing of a decision.
STAGES = (
    "_reader", "_fastpath", "_response", "_logged_request", "_verdicts", "_dump", "_body",
    "_engine",
)  # fmt: skip


@functools.cache  # several modules load the same stage at import: hashed once
def source_digest(name: str) -> str | None:
    """The SHA-256 of stage ``name``'s C source beside this module, after the header every
    stage includes (setup.py hashes the same); None where the package ships without them."""
    try:
        header = (HERE / "_compiled.h").read_bytes()
        return hashlib.sha256(header + (HERE / f"{name}.c").read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def configured(name: str, configuration: Callable[[], Any], entry: str) -> Any | None:
    """Stage ``name``'s function ``entry``, the stage first configured with
    ``configuration()`` (built only for a stage that loaded), or None where `load` gives None."""
    module = load(name)
    if module is None:
        return None
    module.configure(configuration())
    return getattr(module, entry)


def load(name: str) -> ModuleType | None:
    """The compiled stage ``name`` (``"_reader"``), or None when the Python twin must run."""
    if os.environ.get("YOUTHMODE_PURE", "") not in ("", "0"):
        return None
    try:
        module = importlib.import_module(f"youthmode.{name}")
    except ImportError:
        return None  # not built here (no compiler), or built for another Python
    digest = source_digest(name)
    if digest is not None and digest != getattr(module, "SOURCE_SHA256", None):
        log.warning(
            "youthmode.%s is older than %s.c: using the Python path until it is rebuilt "
            "(pip install -e . or make test)",
            name,
            name,
        )
        return None
    return module
