"""How the compiled stages' tests find a leaked reference: run the same work again and again;
an object a stage forgets to release stays allocated, one per run."""

from __future__ import annotations

import sys
from collections.abc import Callable


def blocks_kept(run: Callable[[], object], rounds: int) -> int:
    """Memory blocks still allocated after ``rounds`` more calls of ``run`` than after its first
    (which fills every memo and cache the work uses)."""
    run()
    before = sys.getallocatedblocks()
    for _ in range(rounds):
        run()
    return sys.getallocatedblocks() - before
