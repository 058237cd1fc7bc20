"""Every decimal number in a chapter's prose is glued or shown by an output of that chapter.

nbval proves that a chapter's stored outputs are what its code produces today. This test ties
the prose to those outputs: a number written in a markdown cell with two or more decimals
must either come from myst-nb's ``glue`` (a ``{glue}``-family role naming a value glued in
the same notebook) or round, at the precision written, to a number that some output of the
same notebook prints (``text/plain``, ``text/html``, ``text/markdown`` or stream text). A code
change that moves a quoted number then fails here, naming the number and its sentence,
instead of leaving the prose silently stale.

What counts as a prose number
    A decimal with at least two digits after the point, in markdown cells, including inline
    math. Left out: code spans that hold code (a span holding only a number is checked),
    fenced code blocks with a language (```python, ```r, ```text, ```{code-block}),
    URLs, MyST roles other than glue (``{cite}``, ``{ref}``, ``{doc}`` ...), version numbers
    (``statsmodels 0.15``, ``1.1-31``, ``0.14.1``) and the conventional constants in
    ``CONVENTIONAL`` below.

How a number is matched
    Unicode minus and thousands separators are normalised; signs are ignored (prose says
    "a correlation of 0.07 ... negative" for an output of -0.07); a number followed by ``%``
    also matches an output 100 times smaller (a proportion printed as 0.589 quoted as 58.9%).
    A prose number with d decimals matches an output value x when x rounds to it at d
    decimals (ties either way, so 0.125 matches 0.12 and 0.13).

Thresholds
    Every chapter must match all of its prose numbers. (Issue 8 asked for 97%; every
    chapter reaches 100%, and any lower bar would let one changed number pass in a chapter
    with enough others: scripts/inject_faults.py plants exactly that fault.) The failure
    message lists every unmatched number with its context.
    ``THRESHOLDS`` lowers the bar for a named chapter only while its errata are being
    worked on; each entry says why. The goal is an empty dictionary.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CHAPTERS

DEFAULT_THRESHOLD = 1.0

# Chapters whose prose is still being tied to their outputs (issue 8): the share they reach
# today, so that a change can only raise it. Remove an entry when the chapter reaches 1.0.
THRESHOLDS: dict[str, float] = {}

# Conventional constants that are fine as text: the normal quantile of a 95% interval, the
# usual significance levels, the tail probabilities of a 95% interval, the 95% point of a
# chi-square with 1 df and its half (likelihood-ratio and profile intervals), and pi^2/3
# (the variance of the standard logistic distribution).
CONVENTIONAL = frozenset(
    {"1.96", "0.05", "0.025", "0.975", "0.95", "0.01", "0.001", "3.84", "1.92", "3.29"}
)

# Words after which a decimal is a software version, not a result.
VERSION_WORDS = (
    "statsmodels",
    "lme4",
    "lmerTest",
    "pbkrtest",
    "pandas",
    "numpy",
    "seaborn",
    "matplotlib",
    "scipy",
    "Python",
    "R",
    "Sphinx",
    "version",
    "geepack",
    "myst-nb",
    "jupyter-book",
    "Jupyter Book",
    "nbval",
)

NUMBER = r"[-\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+\u2212]?\d+)?"
OUTPUT_NUMBER = re.compile(NUMBER)
PROSE_NUMBER = re.compile(
    r"(?<![\w.])[-\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)\.(\d{2,})"
    r"(?:[eE]([-+\u2212]?\d+))?(?![\w.]*\d)(%?)"
)
GLUE_ROLE = re.compile(r"\{glue(?::[a-z]*)?\}`([^`:]+)(?::[^`]*)?`")
OTHER_ROLE = re.compile(r"\{(?!glue)[a-zA-Z:-]+\}`[^`]*`")
CODE_SPAN = re.compile(r"(?<!\})`([^`\n]+)`")
URL = re.compile(r"(?:https?://|www\.)\S+")
FENCE = re.compile(r"^(```+|:::+)(.*)$")
GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")
VERSION = re.compile(
    r"\b(?:"
    + "|".join(re.escape(w) for w in VERSION_WORDS)
    + r")\s+(?:v|version\s+)?\d+\.\d+(?:[.-]\d+)*"
)
DOTTED = re.compile(r"\b\d+\.\d+(?:[.-]\d+)+\b")


@dataclass(frozen=True)
class ProseNumber:
    text: str  # as written, e.g. "−1,378.18" or "58.9%"
    value: float  # absolute value, separators removed
    decimals: int  # decimal place of the last digit written (7 for 2.45e-05)
    percent: bool
    context: str  # the surrounding words, for the failure message


def _strip_code_fences(markdown: str) -> str:
    """Drop fenced code blocks; keep the body of MyST directives (admonitions, exercises)."""
    kept, inside = [], None
    for line in markdown.splitlines():
        match = FENCE.match(line.strip())
        if inside is None and match:
            info = match.group(2).strip()
            is_code = (
                bool(info)
                and not info.startswith("{")
                or info.startswith(("{code-block}", "{code-cell}", "{code}"))
            )
            if is_code:
                inside = match.group(1)
                continue
            kept.append(line)
        elif inside is not None:
            if line.strip().startswith(inside) and line.strip().strip("`:") == "":
                inside = None
        else:
            kept.append(line)
    return "\n".join(kept)


def _blank(text: str, pattern: re.Pattern, keep=lambda m: False) -> str:
    return pattern.sub(lambda m: m.group(0) if keep(m) else " " * len(m.group(0)), text)


def prose_text(markdown: str) -> str:
    """The markdown with everything that is not prose blanked out (same length per line)."""
    text = _strip_code_fences(markdown)
    text = _blank(text, URL)
    text = _blank(text, GLUE_ROLE)
    text = _blank(text, OTHER_ROLE)
    # A code span holding only a number quotes an output: keep it; any other span is code.
    text = _blank(
        text,
        CODE_SPAN,
        keep=lambda m: re.fullmatch(r"\s*" + NUMBER + r"%?\s*", m.group(1)) is not None,
    )
    text = text.replace("`", " ")
    text = _blank(text, VERSION)
    text = _blank(text, DOTTED)
    return text


def _to_float(text: str) -> float:
    return abs(float(text.replace("\u2212", "-").replace(",", "")))


def extract_prose_numbers(markdown: str) -> list[ProseNumber]:
    """Decimal numbers with two or more decimals in one markdown cell's prose."""
    text = prose_text(markdown)
    numbers = []
    for match in PROSE_NUMBER.finditer(text):
        written = match.group(0)
        bare = written.rstrip("%").lstrip("-\u2212")
        if bare in CONVENTIONAL:
            continue
        start, end = max(0, match.start() - 60), min(len(text), match.end() + 40)
        context = " ".join(markdown_context(markdown, text, start, end).split())
        exponent = int(match.group(2).replace("\u2212", "-")) if match.group(2) else 0
        numbers.append(
            ProseNumber(
                written,
                _to_float(written.rstrip("%")),
                len(match.group(1)) - exponent,
                bool(match.group(3)),
                context,
            )
        )
    return numbers


def markdown_context(markdown: str, text: str, start: int, end: int) -> str:
    # The blanked text keeps positions only when no fence was dropped; fall back to it then.
    return markdown[start:end] if len(markdown) == len(text) else text[start:end]


def glue_roles(markdown: str) -> list[str]:
    """Names referenced by {glue}, {glue:}, {glue:text} ... roles."""
    return GLUE_ROLE.findall(markdown)


def output_values(notebook: dict) -> list[float]:
    """Every number printed by an output of the notebook, as absolute values."""
    values = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            parts = []
            if "text" in output:
                parts.append("".join(output["text"]))
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    parts.append("".join(output["data"][mime]))
            for part in parts:
                for match in OUTPUT_NUMBER.finditer(part):
                    token = match.group(0)
                    values.append(_to_float(token))
                    if "," in token:  # "1,234" may be a list of two numbers, not a thousand
                        values.extend(_to_float(piece) for piece in token.split(","))
    return values


def glued_names(notebook: dict) -> set[str]:
    names = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        names.update(GLUE_CALL.findall("".join(cell["source"])))
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                names.add(name)
    return names


def matches(number: ProseNumber, values: list[float]) -> bool:
    half = 0.5 * 10.0**-number.decimals
    tolerance = half * (1 + 1e-9) + 1e-12 * number.value
    candidates = [number.value] + ([number.value / 100] if number.percent else [])
    for target in candidates:
        scale = 1.0 if target == number.value else 100.0
        if any(abs(abs(v) * scale - target * scale) <= tolerance for v in values):
            return True
    return False


@dataclass
class Report:
    total: int
    unmatched: list[ProseNumber]
    missing_glue: list[str]

    @property
    def share(self) -> float:
        return 1.0 if self.total == 0 else 1 - len(self.unmatched) / self.total

    def describe(self) -> str:
        lines = [
            f"{self.total - len(self.unmatched)} of {self.total} prose numbers match "
            f"an output ({self.share:.1%}); unmatched:"
        ]
        lines += [f"  {n.text!r} in: ...{n.context}..." for n in self.unmatched]
        if self.missing_glue:
            lines.append(f"glue roles naming nothing glued here: {self.missing_glue}")
        return "\n".join(lines)


def check_notebook(notebook: dict) -> Report:
    values = output_values(notebook)
    glued = glued_names(notebook)
    total, unmatched, missing = 0, [], []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        missing += [name for name in glue_roles(source) if name not in glued]
        for number in extract_prose_numbers(source):
            total += 1
            if not matches(number, values):
                unmatched.append(number)
    return Report(total, unmatched, missing)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prose_numbers_are_glued_or_printed(path):
    report = check_notebook(load(path))
    threshold = THRESHOLDS.get(path.stem, DEFAULT_THRESHOLD)
    assert not report.missing_glue, report.describe()
    assert report.share >= threshold, f"{path.stem} (needs {threshold:.0%}):\n{report.describe()}"


def test_thresholds_name_real_chapters_and_never_exceed_the_bar():
    stems = {p.stem for p in CHAPTERS}
    assert set(THRESHOLDS) <= stems
    assert all(0 <= t < DEFAULT_THRESHOLD for t in THRESHOLDS.values())


# --- The mechanism itself -------------------------------------------------------------------


def _notebook(markdown: str, outputs: list[str], glue_name: str | None = None) -> dict:
    code = {
        "cell_type": "code",
        "source": "",
        "metadata": {},
        "outputs": [{"output_type": "stream", "name": "stdout", "text": text} for text in outputs],
    }
    if glue_name:
        code["source"] = f'glue("{glue_name}", value)'
    return {"cells": [code, {"cell_type": "markdown", "source": markdown, "metadata": {}}]}


def test_extractor_skips_code_urls_roles_versions_and_constants():
    markdown = (
        "The slope is 10.47 ms/day (`fit.params[1.25]` is code, `0.589` is a quote). "
        "See https://example.org/v/2.50 and {cite}`Bates2015`, {ref}`sec-3.14`. "
        "statsmodels 0.15 and lme4 1.1-31, version 0.14.1; $z = 1.96$, alpha 0.05.\n"
        "```python\nfit = model.fit(tol=12.345)\n```\n"
        "```{note}\nA variance of 1,378.18 and a correlation of \u22120.07 (58.93%).\n```\n"
    )
    found = [n.text for n in extract_prose_numbers(markdown)]
    assert found == ["10.47", "0.589", "1,378.18", "\u22120.07", "58.93%"]


def test_matching_rounds_at_the_written_precision():
    values = [10.467343, -0.0656, 1378.176, 0.589347]

    def number(text):
        return extract_prose_numbers(text)[0]

    assert matches(number("10.47"), values)
    assert matches(number("10.467"), values)
    assert not matches(number("10.46"), values)
    assert matches(number("10.4673"), values)
    assert not matches(number("10.4674"), values)
    assert not matches(number("0.5894"), values)
    assert matches(number("\u22120.07"), values)
    assert matches(number("1,378.18"), values)
    assert matches(number("58.93%"), values)
    assert not matches(number("58.94%"), values)
    assert matches(number("p = 3.26e-06"), [3.2637880713e-06])
    assert matches(number("p = 3.26e\u221206"), [3.2637880713e-06])
    assert not matches(number("p = 3.27e-06"), [3.2637880713e-06])


def test_unmatched_changed_number_is_caught_and_named():
    """Change one matched prose number of a real chapter in memory: the check must name it."""
    path = next(p for p in CHAPTERS if p.stem == "02-random-intercepts")
    notebook = load(path)
    before = check_notebook(notebook)
    values = output_values(notebook)
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        good = [n for n in extract_prose_numbers(source) if matches(n, values)]
        if good:
            target = good[0]
            # A value no output rounds to: the number plus 7.3 units in its last place (so it
            # differs at the written precision) and a fresh ninth decimal makes accidental
            # matches unlikely; check that it is really absent first.
            changed = f"{target.value + 7.3 * 10**-target.decimals:.{target.decimals}f}"
            probe = extract_prose_numbers(changed)[0]
            if matches(probe, values):
                continue
            cell["source"] = source.replace(target.text, changed, 1)
            break
    else:
        pytest.fail("no matched prose number to change in chapter 2")
    after = check_notebook(notebook)
    assert after.total == before.total
    assert len(after.unmatched) == len(before.unmatched) + 1
    assert changed in after.describe()


def test_glue_roles_count_and_must_name_a_glued_value():
    glued = _notebook("The slope is {glue:text}`slope:.2f` ms/day.", ["x"], glue_name="slope")
    report = check_notebook(glued)
    assert report.total == 0 and not report.missing_glue
    stale = _notebook("The slope is {glue:text}`slope_old:.2f` ms/day.", ["x"], glue_name="slope")
    assert check_notebook(stale).missing_glue == ["slope_old"]
