"""Every chapter is stored as if run top to bottom in a fresh kernel, cleanly."""

from __future__ import annotations

import re

import pytest

import notebooks
from notebooks import CHAPTERS

CONFIG_URL_PATTERN = re.compile(
    r'os\.environ\.setdefault\(\s*"COURSE_BASE_URL",\s*"([^"]+)"\s*,?\s*\)'
)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_executed_in_order(path):
    counts = [cell.execution_count for cell in notebooks.cells(path, "code")]
    assert counts == list(range(1, len(counts) + 1)), f"execution counts {counts}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_errors_or_warnings_in_outputs(path):
    for number, cell in enumerate(notebooks.cells(path)):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"cell {number} stored an error"
            if output.get("name") == "stderr":
                pytest.fail(f"cell {number} wrote to stderr: {output['text'][:300]}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_structure(path):
    """Objectives first; summary and exercises with solutions at the end."""
    markdown = notebooks.markdown(path)
    assert markdown and markdown[0].startswith("# "), "the first cell must be the chapter title"
    assert "Learning objectives" in markdown[0]
    text = "\n".join(markdown)
    assert "## Summary" in text
    # Plain (:::) or gated (```{solution-start}) directives of sphinx-exercise.
    exercises = re.findall(r"(?:```|:::)\{exercise(?:-start)?\}\n:label: (\S+)", text)
    solutions = re.findall(r"(?:```|:::)\{solution(?:-start)?\} (\S+)\n:class: dropdown", text)
    assert exercises, "no exercises"
    assert sorted(exercises) == sorted(solutions), "every exercise needs a hidden solution"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_first_code_cell_bootstraps_the_course_module(path):
    first = notebooks.cells(path, "code")[0]
    source = first.source
    assert "import course" in source and "hide-input" in first.metadata.get("tags", [])
    assert CONFIG_URL_PATTERN.search(source), "the first cell must set COURSE_BASE_URL"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_figures_have_alt_text_or_caption(path):
    for number, cell in enumerate(notebooks.cells(path)):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        meta = cell["metadata"].get("mystnb", {})
        described = meta.get("figure", {}).get("caption") or meta.get("image", {}).get("alt")
        assert described, f"cell {number} shows a figure without a caption or alt text"


# Cell metadata the book uses (the list scripts/strip_cell_metadata.py keeps).
KEPT_CELL_METADATA = {"tags", "mystnb"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_cells_carry_only_the_metadata_the_book_uses(path):
    stray = {
        f"cell {cell.get('id')}: {key}"
        for cell in notebooks.cells(path)
        for key in set(cell.metadata) - KEPT_CELL_METADATA
    }
    assert not stray, f"run python scripts/strip_cell_metadata.py {path.name}: {sorted(stray)}"
