"""How much CPU other processes took while we measured: the machine is rarely ours alone.

`busy_seconds()` is the machine's non-idle CPU time so far (all CPUs, from /proc/stat). Over a
measurement, busy time minus the CPU time of the processes being measured is someone else's
work; the report shows it so that a disturbed figure is not mistaken for a real one.
"""

from __future__ import annotations

import os
import time
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def other_cpu_rate(window: float = 1.0) -> float:
    """CPUs' worth of work other processes did over the next ``window`` seconds (we sleep)."""
    busy, own = busy_seconds(), time.process_time()
    time.sleep(window)
    return max(0.0, busy_seconds() - busy - (time.process_time() - own)) / window


def wait_idle(max_wait: float, threshold: float = 0.1, log: Any = None) -> float:
    """Wait up to ``max_wait`` seconds for other processes to use under ``threshold`` CPUs
    for two seconds running; returns the last rate seen."""
    deadline = time.monotonic() + max_wait
    rate = other_cpu_rate()
    quiet = 1 if rate < threshold else 0
    said = False
    while quiet < 2 and time.monotonic() < deadline:
        if not said and log is not None:
            log(f"  waiting up to {max_wait:.0f}s for an idle machine (others: {rate:.2f} CPUs)")
            said = True
        rate = other_cpu_rate()
        quiet = quiet + 1 if rate < threshold else 0
    return rate
