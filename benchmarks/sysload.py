"""How much CPU other processes took while we measured: the machine is rarely ours alone.

`busy_seconds()` is the machine's non-idle CPU time so far (all CPUs, from /proc/stat). Over a
measurement, busy time minus the CPU time of the processes being measured is someone else's
work; the report shows it so that a disturbed figure is not mistaken for a real one.
"""

from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK
