"""Process metrics for a server of several processes: the gunicorn master and its workers.

prometheus_client's own process collector describes one process, and in multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`) it is not used at all. `ServerProcesses` reports the standard
`process_*` metrics for the whole server instead: CPU seconds, memory and open files summed
over the master and every worker (read from /proc when the scrape asks), the master's start
time and file limit, and how many workers run (`youthmode_worker_processes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import ProcessCollector
from prometheus_client.core import GaugeMetricFamily

# Summed over the processes; the others are the master's own.
SUMMED = ("process_cpu_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
          "process_open_fds")  # fmt: skip


class ServerProcesses:
    """A collector of the `process_*` metrics of ``master`` and its child processes."""

    def __init__(self, master: int, proc: str = "/proc") -> None:
        self.master = master
        self.proc = proc

    def collect(self) -> Iterator[Any]:
        workers = children(self.master, self.proc)
        families: dict[str, Any] = {}
        for pid in (self.master, *workers):
            collector = ProcessCollector(pid=_constant(pid), proc=self.proc, registry=None)
            for family in collector.collect():
                if family.name not in families:
                    families[family.name] = family  # the master's, first
                elif family.name in SUMMED and family.samples:
                    kept = families[family.name]
                    total = kept.samples[0].value + family.samples[0].value
                    kept.samples[0] = kept.samples[0]._replace(value=total)
        yield from families.values()
        yield GaugeMetricFamily(
            "youthmode_worker_processes", "Worker processes of this server", value=len(workers)
        )


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def children(pid: int, proc: str = "/proc") -> list[int]:
    """The child processes of ``pid``: from the kernel's list when it keeps one, else by
    reading every process's parent."""
    listed = Path(proc, str(pid), "task", str(pid), "children")
    try:
        return [int(p) for p in listed.read_text().split()]
    except OSError:
        pass
    found = []
    for entry in Path(proc).iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        # After the command name (in parentheses, may hold spaces): state, then parent pid.
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)
