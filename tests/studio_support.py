"""A running `youthmode studio` for the studio tests: the real command in its own process, on a
free loopback port, over a copy of the shipped policies (tests may compare bytes afterwards)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conftest import CONFIGS, ROOT

PACK = "vn-decree-147.toml"


def copy_policies(folder: Path) -> Path:
    """The shipped packs and their test files, copied into ``folder``."""
    folder.mkdir(exist_ok=True)
    for path in CONFIGS.glob("*.toml"):
        shutil.copy(path, folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class Studio:
    """`youthmode studio --policies FOLDER [ARGS]` in a subprocess; its URL is what it printed."""

    def __init__(self, policies: Path, args: Sequence[str] = ()) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "youthmode", "studio", "--policies", str(policies), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()  # blocks until the server listens
        assert self.banner.startswith("Policy Studio: http://127.0.0.1:"), self.banner
        self.page = self.banner.split()[2]
        self.base = self.page.removesuffix("/studio/")

    def call(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        data = (
            body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        )
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method="GET" if data is None else "POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            assert err.headers["Content-Type"] == "application/problem+json"
            return err.code, json.loads(err.read())

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
