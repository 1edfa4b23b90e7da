"""The build hook that puts the policy packs and the error pages into the wheel.

Everything else about the build is in pyproject.toml. The packs stay where product teams edit
them, `configs/*.toml`, and the error pages in `docs/errors/*.md`; building copies both into the
package as `youthmode/_shipped/configs/` and `youthmode/_shipped/docs/errors/` (the repository's
layout, so a link reads the same), where `youthmode.shipped` finds them in an installed package.
One copy in the repository, none to keep in step by hand.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (folder in the repository, files taken from it); each goes to youthmode/_shipped/<folder>
# (configs/data after configs: the consent-age table beside the packs, as in a checkout).
SHIPPED = (("configs", "*.toml"), ("configs/data", "*.toml"), ("docs/errors", "*.md"))


class BuildWithShippedFiles(build_py):
    """build_py, then the packs and error pages copied beside the modules."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads configs/ and docs/ in place
            return
        for folder, pattern in SHIPPED:
            target = Path(self.build_lib, "youthmode", "_shipped", folder)
            shutil.rmtree(target, ignore_errors=True)  # no stale file of an earlier build
            target.mkdir(parents=True)
            files = sorted((ROOT / folder).glob(pattern))
            if not files:
                raise RuntimeError(f"nothing to ship: no {pattern} in {ROOT / folder}")
            for source in files:
                shutil.copyfile(source, target / source.name)


HEADER = Path("youthmode", "_compiled.h")


def compiled_stage(name: str) -> Extension:
    """A compiled stage of the engine (youthmode/compiled.py), stamped with its source's
    SHA-256 so that a build older than its source is never used. Optional: where it does not
    build (no compiler), the package installs without it and the Python twin runs."""
    source = Path("youthmode", f"{name}.c")
    # the shared header and the stage's own source, as youthmode/compiled.py hashes them
    digest = hashlib.sha256((ROOT / HEADER).read_bytes() + (ROOT / source).read_bytes())
    return Extension(
        f"youthmode.{name}",
        [source.as_posix()],
        depends=[HEADER.as_posix()],
        define_macros=[("SOURCE_SHA256", f'"{digest.hexdigest()}"')],
        extra_compile_args=["-O2"],
        optional=True,
    )


setup(
    cmdclass={"build_py": BuildWithShippedFiles},
    # youthmode/compiled.py's STAGES (setup.py runs before the package can be imported)
    ext_modules=[
        compiled_stage(name)
        for name in (
            "_reader",
            "_fastpath",
            "_response",
            "_logged_request",
            "_verdicts",
            "_dump",
            "_body",
            "_engine",
        )
    ],
)
