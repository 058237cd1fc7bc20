"""Guards for the test machinery itself: what nbval may ignore, and what it cannot see.

nbval compares text and HTML outputs only, after applying the sanitizer's replacements;
it never looks at images and never checks the requirement files. These tests close
those gaps: a figure cell must keep its picture, the sanitizer may not rewrite a number,
and every requirement is pinned.
"""

from __future__ import annotations

import json
import re

import pytest
from nbval.plugin import get_sanitize_patterns

from conftest import CHAPTERS, ROOT

# A code cell that calls one of these draws a figure (checked against every chapter: each
# cell that matches has an image and each cell with an image matches).
DRAWS = re.compile(
    r"\b(plt\.(subplots|figure|plot|hist|scatter|bar|imshow)|"
    r"sns\.(histplot|kdeplot|lineplot|scatterplot|stripplot|boxplot|violinplot|regplot|"
    r"lmplot|catplot|relplot|displot|heatmap|pointplot|barplot)|course\.plot_subjects|"
    r"\.plot\(|\.hist\(|\.scatter\(|\.errorbar\(|\.axhline\()"
)
IMAGES = ("image/png", "image/svg+xml")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")
NUMBERS = [
    "0",
    "7",
    "42",
    "180",
    "1000",
    "2026",
    "-3",
    "+3",
    "251.405105",
    "-871.8141359792453",
    "0.065551",
    "1.5e-07",
    "7.072e-10",
    "3.3E+05",
    "1,234",
    "12.5%",
    "95",
    "0.05",
    "p = 0.0004",
    "SD 24.74 ms",
    "[1, 2, 3]",
    "<td>22.61</td>",
    "  10.4673    10.4673     12",
    "2003",
    "0x",
    "x1",
    "v2.1",
]
# A number as a reader sees it: not part of a hexadecimal address such as 0x7f3a.
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def sanitize_patterns() -> list[tuple[str, str]]:
    """The regex/replace pairs of tests/sanitize.cfg, read by nbval's own parser."""
    return get_sanitize_patterns((ROOT / "tests" / "sanitize.cfg").read_text())


def text_outputs(path) -> list[str]:
    texts = []
    for cell in json.loads(path.read_text())["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                texts.append("".join(output["text"]))
            for mime in ("text/plain", "text/html"):
                if mime in output.get("data", {}):
                    texts.append("".join(output["data"][mime]))
    return texts


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_cell_keeps_its_image(path):
    """nbval ignores images, so a figure deleted from the stored outputs would pass it."""
    for number, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        has_image = any(m in o.get("data", {}) for o in cell.get("outputs", []) for m in IMAGES)
        if DRAWS.search(source):
            assert has_image, (
                f"cell {number} draws a figure but its stored outputs hold no image; "
                f"refresh the notebook (scripts/refresh_notebooks.py): {source[:120]!r}"
            )


def test_sanitizer_file_is_read_by_nbval_and_not_empty():
    # A file nbval's parser cannot read would silently sanitize nothing, or the test below
    # would pass on zero patterns.
    patterns = sanitize_patterns()
    text = (ROOT / "tests" / "sanitize.cfg").read_text()
    assert patterns and len(patterns) == text.count("\nregex:") + text.startswith("regex:")


@pytest.mark.parametrize("pattern", sanitize_patterns(), ids=lambda p: p[0])
def test_sanitizer_pattern_leaves_numbers_alone(pattern):
    """Every replacement must leave every digit string as it is, alone or in context."""
    regex, replace = pattern
    for text in NUMBERS:
        assert re.sub(regex, replace, text) == text, (
            f"the sanitizer pattern {regex!r} rewrites {text!r}: nbval would then ignore a "
            "changed number. Only text that is not a number (memory addresses) may be masked."
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_sanitizer_changes_no_number_in_the_stored_outputs(path):
    patterns = sanitize_patterns()
    for text in text_outputs(path):
        cleaned = text
        for regex, replace in patterns:
            cleaned = re.sub(regex, replace, cleaned)
        assert NUMBER.findall(cleaned) == NUMBER.findall(text), (
            f"{path.name}: the sanitizer changes a number in a stored output: {text[:200]!r}"
        )


@pytest.mark.parametrize("name", ["requirements.txt", "binder/requirements.txt"])
def test_every_requirement_is_pinned(name):
    unpinned = []
    for number, raw in enumerate((ROOT / name).read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line == "-r binder/requirements.txt" and name == "requirements.txt":
            continue
        if not PIN.match(line):
            unpinned.append(f"line {number}: {raw!r}")
    assert not unpinned, f"{name} has requirements not pinned as name==version: {unpinned}"
