"""Instructions a Python script's run costs, counted by callgrind: the same for the same
script, inputs and environment whatever else the machine is doing. The `*_instructions.py`
scripts run themselves under it twice (N decisions, and none) and divide the difference."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def instructions(script: str, *args: str) -> int:
    """Instructions of ``python script args...`` (hash seed fixed: dict and set orders alike)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        command += [sys.executable, script, *args]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        found = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
        assert found is not None, done.stderr[-2000:]
        return int(found.group(1))
