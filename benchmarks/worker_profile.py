"""Where a gunicorn worker spends its time under load: py-spy on one worker while wrk runs.

Not a timed run: the sampler slows the worker a little, so only the shares are reported, never
throughput. The shares say which part of a request costs what: the decision endpoint as a
whole, and inside it the engine, the JSON response, the metrics and the body parsing; the rest
is gunicorn, werkzeug and Flask, which the bare-Flask baseline pays too.

Best effort: without py-spy, or without permission to read another process (ptrace), the
profile is skipped with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

# (label, function name as py-spy prints it, file it lives in)
PARTS: tuple[tuple[str, str, str], ...] = (
    ("the decision endpoint (all of it)", ".decide", "youthmode/server/decisions.py"),
    ("  engine.decide", "Engine.decide", "youthmode/engine.py"),
    ("    the request reader", "read_plain", "youthmode/request.py"),
    ("    evaluate (timeline, response models)", "evaluate", "youthmode/decision.py"),
    ("  JSON response (model_dump_json)", "model_dump_json", "pydantic/main.py"),
    ("  metrics", "Decider.account", "youthmode/server/decisions.py"),
    ("  JSON body parsing", "parse_json_body", "youthmode/server/body.py"),
    ("bare Flask's endpoint (all of it)", ".decisions", "bare_server.py"),
    ("Flask and werkzeug, the endpoint included", "Flask.wsgi_app", "flask/app.py"),
)
OUTSIDE_FLASK = "gunicorn outside Flask (accept, read and parse HTTP, write, close)"


def _frame_matches(frame: str, name: str, where: str) -> bool:
    function, _, location = frame.partition(" (")
    return function.endswith(name) and where in location


def shares(raw: str) -> tuple[int, dict[str, float]]:
    """Samples, and the share of samples with each part on the stack (py-spy `--format raw`)."""
    total = 0
    hits: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        for label, name, where in PARTS:
            if any(_frame_matches(f, name, where) for f in frames):
                hits[label] += int(count)
    found = {label: hits[label] / total for label, _, _ in PARTS if hits[label] and total}
    if total:
        found[OUTSIDE_FLASK] = 1 - hits["Flask and werkzeug, the endpoint included"] / total
    return total, found


def profile_worker(
    pid: int, load: Callable[[float], Any], seconds: float = 5.0, rate: int = 250
) -> dict[str, Any]:
    """Sample worker ``pid`` for ``seconds`` while ``load(seconds)`` keeps it busy."""
    beside = Path(sys.executable).parent / "py-spy"  # the venv's, when it is not on PATH
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        return {"skipped": "py-spy is not installed (pip install '.[bench]')"}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "raw.txt"
        loader = threading.Thread(target=load, args=(seconds + 1.0,), daemon=True)
        loader.start()
        done = subprocess.run(
            [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", str(rate), "--format", "raw", "--output", str(out), "--nonblocking"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        loader.join()
        if done.returncode != 0 or not out.exists():
            reason = (done.stderr or done.stdout).strip().splitlines()
            return {"skipped": f"py-spy failed: {reason[-1] if reason else done.returncode}"}
        total, found = shares(out.read_text())
    return {"samples": total, "seconds": seconds, "rate_hz": rate, "shares": found}
