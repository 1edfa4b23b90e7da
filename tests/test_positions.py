"""Key positions are found when a finding first asks for one, not at every load.

The walk of a file's text was half of loading the shipped packs; only an error or a warning
needs a line. The positions found later are the ones found at once before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from youthmode.policies.positions import _Scanner
from youthmode.policies.source import parse_toml

PACKS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.toml"))


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_positions_are_walked_at_the_first_look_up_and_are_the_walk_s(pack: Path) -> None:
    source, problems = parse_toml(pack.read_bytes(), str(pack))
    assert source is not None and problems == []
    assert source.positions._positions is None  # loading alone does not walk the text
    walked = _Scanner(source.text)
    walked.run()
    for path, where in walked.positions.items():
        assert source.positions.find(path) == where
    assert source.positions._positions == walked.positions


def test_a_key_not_recorded_is_placed_at_its_nearest_ancestor() -> None:
    source, _ = parse_toml(b'[policy]\nid = "x"\n\n[[rules]]\nid = "a"\n', "t.toml")
    assert source is not None
    assert source.positions.find(("rules", 0, "no-such-key")) == (4, 1)
    assert source.positions.find(("policy", "id")) == (2, 1)
