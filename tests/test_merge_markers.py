"""No chapter keeps a merge-conflict marker.

When two people change the same cells, nbdime's merge can leave its markers in a
notebook as cells of their own (red "<<<<<<< local", "=======", ">>>>>>> remote"
lines) or inside a cell's source. The book then builds and nbval passes, so this test
looks for them.
"""

from __future__ import annotations

import re

import pytest

import notebooks

MARKER = re.compile(r"^(<<<<<<< |>>>>>>> )|<b>(<<<<<<< |=======|>>>>>>> )", re.MULTILINE)


@pytest.mark.parametrize("path", notebooks.CHAPTERS, ids=lambda path: path.stem)
def test_no_merge_markers(path):
    found = [
        cell.get("id", index)
        for index, cell in enumerate(notebooks.load(path).cells)
        if MARKER.search(cell.source)
    ]
    assert not found, f"{path.name}: merge-conflict markers in cells {found}"
