"""Remove cell metadata that the book does not use, such as jupytext's lines_to_next_cell.

    python scripts/strip_cell_metadata.py                  # every chapter
    python scripts/strip_cell_metadata.py chapters/05-*.ipynb

Cells keep only the metadata keys in KEPT: ``tags`` (hide-input and the like) and
``mystnb`` (figure captions, names and alt text). Anything else was left by an authoring
tool and only adds noise to diffs. tests/test_notebook_hygiene.py enforces the same list.
Notebooks are rewritten only if something was removed, so the command is safe to repeat.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEPT = {"tags", "mystnb"}


def strip(path: Path) -> list[str]:
    """Strip one notebook in place; return a description of what was removed."""
    notebook = nbformat.read(path, as_version=4)
    removed = []
    for cell in notebook.cells:
        for key in sorted(set(cell.metadata) - KEPT):
            del cell.metadata[key]
            removed.append(f"cell {cell.get('id')}: {key}")
    if removed:
        nbformat.write(notebook, path)
    return removed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        removed = strip(path)
        if removed:
            print(f"{path}: removed {len(removed)} key(s): {', '.join(removed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
