"""The wheel, installed outside the checkout: it ships the packs and the error pages, and works.

The wheel is built from a copy of the sources (`pip wheel --no-deps --no-build-isolation`: no
download), installed without dependencies into a fresh virtualenv that borrows the test
environment's installed libraries through a `.pth` line, and run from an empty working
directory with no PYTHONPATH: nothing of the checkout is within reach. The sdist is built too,
and must give the same shipped files. About 25 seconds; run alone with `make package` or
`pytest -m wheel`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CONFIGS, ROOT
from redis_support import free_port

from youthmode.compiled import STAGES

pytestmark = pytest.mark.wheel

# What a build needs from the checkout (setup.py ships configs/ and docs/errors/ from here).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "youthmode")
SHIPPED = (("configs", "*.toml"), ("configs/data", "*.toml"), ("docs/errors", "*.md"))
BROKEN = """\
[policy]
id = "acme"
version = "1"
timezone = "Asia/Shanghai"
extends = "cn-baseline"
colour = "red"
"""


@dataclass(frozen=True)
class Installed:
    """A virtualenv with the wheel installed, and an empty folder to run it in."""

    venv: Path
    work: Path
    wheel: Path

    def run(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "YOUTHMODE_"))}
        return subprocess.run(
            [str(self.venv / "bin" / argv[0]), *argv[1:]],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def package(self) -> Path:
        """Where the installed package lives (never the checkout)."""
        code = "import youthmode, pathlib; print(pathlib.Path(youthmode.__file__).parent)"
        return Path(self.run("python", "-c", code, check=True).stdout.strip())


def build_wheel(tmp: Path) -> Path:
    source = tmp / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "_shipped")
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=ignore)
        else:
            shutil.copy(item, source / name)
    for folder, _ in SHIPPED:
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore, dirs_exist_ok=True)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(tmp / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("youthmode-*.whl")
    return wheel


def make_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies already installed here, after the wheel's own files on the path (a
    # `.pth` line adds a folder without running the `.pth` files in it, so the checkout's
    # editable-install hook stays out). --ignore-installed: pip sees the checkout's editable
    # install through that line and would otherwise call the wheel installed already.
    (site / "borrowed-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    subprocess.run(
        [*pip, "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        check=True,
        timeout=300,
    )
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp)
    work = tmp / "work"
    work.mkdir()
    yield Installed(make_venv(tmp, wheel), work, wheel)


def test_the_wheel_ships_the_packs_the_error_pages_and_the_license(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        for folder, pattern in SHIPPED:
            sources = sorted((ROOT / folder).glob(pattern))
            assert sources
            for source in sources:
                shipped = f"youthmode/_shipped/{folder}/{source.name}"
                assert shipped in names, f"{shipped} is not in the wheel"
                assert wheel.read(shipped) == source.read_bytes(), f"{shipped} differs"
        license_file = "youthmode-0.1.0.dist-info/licenses/LICENSE"
        assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()
        metadata = wheel.read("youthmode-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata


def test_it_runs_from_the_installed_package(installed: Installed) -> None:
    package = installed.package()
    assert package.is_relative_to(installed.venv), package
    assert not (installed.work / "configs").exists()
    version = installed.run("python", "-m", "youthmode", "--version", check=True)
    assert version.stdout.strip() == "youthmode 0.1.0"


def test_the_installed_package_runs_its_compiled_stages(installed: Installed) -> None:
    """The wheel carries each stage built, with its source and the shared header beside it,
    so the installed package checks them current and uses them (compiled.py)."""
    code = "from youthmode import compiled as c; print(*(n for n in c.STAGES if c.load(n)))"
    done = installed.run("python", "-c", code, check=True)
    assert done.stdout.split() == list(STAGES)


def test_check_of_a_broken_policy_links_to_an_installed_page(installed: Installed) -> None:
    (installed.work / "acme.toml").write_text(BROKEN, encoding="utf-8")
    packs = installed.package() / "_shipped" / "configs"
    done = installed.run("youthmode", "check", "acme.toml", str(packs / "cn-baseline.toml"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "acme.toml:6:1: unknown_key: unknown key `colour`" in done.stdout
    links = [line.split("see ", 1)[1] for line in done.stdout.splitlines() if "  see " in line]
    assert links, done.stdout
    for link in links:
        page = Path(link)
        assert page.is_absolute() and page.is_file(), link
        assert page.is_relative_to(installed.venv)
        assert page.read_bytes() == (ROOT / "docs" / "errors" / page.name).read_bytes()
    explained = installed.run("youthmode", "errors", "unknown_key", check=True)
    assert explained.stdout.splitlines()[1] == "# `unknown_key`"


def test_check_with_no_policies_folder_checks_the_shipped_packs(installed: Installed) -> None:
    done = installed.run("youthmode", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using the policy packs shipped with youthmode" in done.stderr
    for pack in ("cn-baseline", "vn-decree-147", "br-eca-digital", "au-smma", "us-tx-sb2420"):
        assert f"ok: {pack} " in done.stdout
    assert "0 errors" in done.stdout


def test_test_with_no_folder_runs_the_shipped_packs_tests(installed: Installed) -> None:
    done = installed.run("youthmode", "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using the policy packs shipped with youthmode" in done.stderr
    # every case of the shipped packs' test files (counted here, so a new case needs no edit)
    cases = sum(
        line == "[[case]]"
        for path in CONFIGS.glob("*_test.toml")
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    assert cases >= 404
    assert done.stdout.splitlines()[-1] == f"{cases} passed, 0 failed"


def test_the_library_loads_the_shipped_packs_cn_baseline_first(installed: Installed) -> None:
    code = (
        "import youthmode; e = youthmode.Engine.from_path(); "
        "d = e.decide({'subject': {'age': 12, 'verified': True}, 'action': 'app.use', "
        "'at': '2026-11-27T22:00:00+08:00'}); "
        "print(e.default_policy, len(e.policies), d.reason_codes)"
    )
    done = installed.run("python", "-c", code, check=True)
    assert done.stdout.split() == ["cn-baseline", "15", "['curfew']"]


def test_serve_with_no_policies_folder_serves_the_shipped_packs(installed: Installed) -> None:
    port = free_port()
    log = installed.work / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "YOUTHMODE_"))}
    with open(log, "w") as out:
        serve = subprocess.Popen(
            [str(installed.venv / "bin" / "youthmode"), "serve", "--port", str(port)],
            cwd=installed.work,
            env={**env, "YOUTHMODE_DECISION_LOG": "off", "YOUTHMODE_STORE": "off"},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        policies = wait_for_json(f"http://127.0.0.1:{port}/v1/policies", serve, log)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert policies["default"] == "cn-baseline"
    assert len(policies["policies"]) == 15
    assert "using the policy packs shipped with youthmode" in log.read_text()


def wait_for_json(url: str, proc: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body: dict[str, object] = json.loads(resp.read())
                return body
        except OSError:
            time.sleep(0.1)  # waiting for another process to start, not for time to pass
    raise AssertionError("the installed server did not answer\n" + log.read_text())


def test_a_wheel_built_from_the_sdist_ships_the_same_files(
    installed: Installed, tmp_path: Path
) -> None:
    """MANIFEST.in puts configs/ and docs/errors/ in the sdist, so `pip install youthmode.tar.gz`
    gets the same packs and pages as the wheel built from the checkout."""
    source = installed.wheel.parent.parent / "src"
    sdist = subprocess.run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "sdist")],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sdist.returncode == 0, sdist.stderr
    (archive,) = (tmp_path / "sdist").glob("youthmode-*.tar.gz")
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(tmp_path / "dist"), str(archive)], check=True, timeout=300)
    (rebuilt,) = (tmp_path / "dist").glob("youthmode-*.whl")
    with zipfile.ZipFile(rebuilt) as again, zipfile.ZipFile(installed.wheel) as first:
        shipped = sorted(n for n in first.namelist() if "/_shipped/" in n)
        assert sorted(n for n in again.namelist() if "/_shipped/" in n) == shipped
        assert all(again.read(n) == first.read(n) for n in shipped)
        for wheel in (first, again):  # every stage built, with the sources its hash covers
            names = wheel.namelist()
            for stage in STAGES:
                assert f"youthmode/{stage}.c" in names
                assert any(n.startswith(f"youthmode/{stage}.") and n.endswith(".so") for n in names)
            assert "youthmode/_compiled.h" in names
