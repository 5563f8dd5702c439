"""The ADRs keep one title format and one index (docs/adr/README.md) that lists each of them."""

from __future__ import annotations

import re
from pathlib import Path

ADR_DIR = Path(__file__).resolve().parents[2] / "docs" / "adr"
TITLE = re.compile(r"# (\d{4})\. (\S.*)")


def _adrs() -> list[Path]:
    return sorted(ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md"))


def test_every_adr_is_titled_with_its_number() -> None:
    assert _adrs()
    for path in _adrs():
        title = TITLE.fullmatch(path.read_text().splitlines()[0])
        assert title is not None, f"{path.name}: the first line must be '# NNNN. Title'"
        assert title.group(1) == path.name[:4], path.name


def test_the_index_lists_every_adr_with_its_title() -> None:
    index = (ADR_DIR / "README.md").read_text()
    for path in _adrs():
        title = path.read_text().splitlines()[0].split(". ", 1)[1]
        row = f"| [{path.name[:4]}]({path.name}) | {title} |"
        assert row in index, f"add this row to docs/adr/README.md: {row}"
