"""The policy packs and error pages shipped inside the package, and where commands look for them.

In a checkout the packs are `configs/*.toml` (product teams edit them there) and the error pages
`docs/errors/*.md`; nothing here changes that. A wheel also carries a copy of both, put into
`youthmode/_shipped/` by the build hook in setup.py, laid out as in the repository
(`_shipped/configs/`, `_shipped/docs/errors/`). So an installed youthmode, run where there is no
`configs/` folder and given none, serves and checks the packs it was built with (cn-baseline the
default, as its file says), and `youthmode check` links to pages that exist on the disk.

A source tree has no `_shipped/` folder: there every answer below is what it was before packs
were shipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

DEFAULT_POLICIES = "configs"
ERROR_PAGES = "docs/errors"
CONSENT_TABLE = "data/consent-ages.toml"  # beside the packs (policies/consent_ages.py)
SHIPPED = Path(__file__).resolve().parent / "_shipped"

log = logging.getLogger("youthmode.shipped")


def shipped_packs() -> Path | None:
    """The folder of packs inside the installed package; None in a source tree."""
    folder = SHIPPED / DEFAULT_POLICIES
    return folder if folder.is_dir() else None


def shipped_error_pages() -> Path | None:
    """The folder of error pages inside the installed package; None in a source tree."""
    folder = SHIPPED / ERROR_PAGES
    return folder if folder.is_dir() else None


def default_policies(announce: Callable[[str], object] = log.info) -> str:
    """Where policies are loaded from when none are named: `configs` in the working directory
    when there is one (or when no packs are shipped: its absence is then reported as before,
    `no_policies`), else the packs shipped in the package, told to ``announce``."""
    packs = shipped_packs()
    if packs is None or Path(DEFAULT_POLICIES).exists():
        return DEFAULT_POLICIES
    announce(shipped_notice(packs))
    return str(packs)


def shipped_notice(packs: Path) -> str:
    """What a command says when it falls back to the shipped packs, so nobody mistakes them for
    a `configs/` of their own."""
    return (
        f"no {DEFAULT_POLICIES}/ folder in {Path.cwd()}: using the policy packs shipped with "
        f"youthmode, {packs} (give --policies PATH to use your own)"
    )


def error_page(code: str) -> str:
    """The page explaining problem ``code``: `docs/errors/<code>.md` relative to the repository
    in a source tree, else the absolute path of the copy inside the installed package."""
    pages = shipped_error_pages()
    if pages is None:
        return f"{ERROR_PAGES}/{code}.md"
    return str(pages / f"{code}.md")


def error_page_text(code: str) -> str | None:
    """The text of the page explaining ``code``, from the installed copy or the source tree;
    None when there is no such page."""
    for folder in (shipped_error_pages(), _source_error_pages()):
        if folder is not None and (folder / f"{code}.md").is_file():
            return (folder / f"{code}.md").read_text(encoding="utf-8")
    return None


def shipped_consent_table() -> Path | None:
    """The consent-age table youthmode comes with: the installed copy, else the one of the
    checkout this package is imported from; the table a pack reads when it has none beside it
    (a pack copied on its own into an app's folder)."""
    for packs in (shipped_packs(), Path(__file__).resolve().parent.parent / DEFAULT_POLICIES):
        table = packs / CONSENT_TABLE if packs is not None else None
        if table is not None and table.is_file():
            return table
    return None


def _source_error_pages() -> Path | None:
    """docs/errors of the checkout this package is imported from, if it is one."""
    folder = Path(__file__).resolve().parent.parent / ERROR_PAGES
    return folder if folder.is_dir() else None
