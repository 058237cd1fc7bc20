"""Reading the chapters' notebooks for the tests: their prose, code and stored outputs.

One reader for every test that inspects a notebook file (nbval re-runs them; these
functions only read what is stored). Notebooks are read with nbformat, so a cell's
``source`` and an output's ``text`` are plain strings.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# The stored output formats a reader sees as text.
TEXT_MIMES = ("text/plain", "text/html", "text/markdown")


def load(notebook: str | Path) -> nbformat.NotebookNode:
    """A chapter by file stem (``"05-model-comparison"``) or a notebook by path."""
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = ROOT / "chapters" / f"{notebook}.ipynb"
    return nbformat.read(path, as_version=4)


def cells(notebook, kind: str | None = None) -> list:
    """The notebook's cells, or only those of one ``cell_type`` (``"code"``, ``"markdown"``)."""
    notebook = notebook if isinstance(notebook, dict) else load(notebook)
    return [cell for cell in notebook.cells if kind is None or cell.cell_type == kind]


def code(notebook) -> list[str]:
    """The source of each code cell, in order."""
    return [cell.source for cell in cells(notebook, "code")]


def markdown(notebook) -> list[str]:
    """The source of each markdown cell, in order."""
    return [cell.source for cell in cells(notebook, "markdown")]


def prose(notebook) -> str:
    """All markdown cells, joined by blank lines."""
    return "\n\n".join(markdown(notebook))


def output_texts(cell) -> list[str]:
    """The text a reader sees in one cell's stored outputs: streams and text/HTML/Markdown."""
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        for mime in TEXT_MIMES:
            if mime in output.get("data", {}):
                parts.append(output["data"][mime])
    return parts


def output_text(notebook) -> str:
    """Every cell's stored text outputs, joined by newlines."""
    return "\n".join(part for cell in cells(notebook) for part in output_texts(cell))
