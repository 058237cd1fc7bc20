"""The self-check extension (_ext/self_check) and course.glue, on a tiny Sphinx build.

Each test builds a one-notebook project in a temporary folder with myst-nb and the
extension, as the book does, and reads the HTML. The notebook's glue output is made by
``course.glue`` itself (run in an IPython shell), and compared with myst-nb's own ``glue``.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from pathlib import Path

import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from sphinx.cmd.build import build_main

import course
from conftest import ROOT

CONF = f"""
import sys
sys.path.insert(0, {str(ROOT / "_ext")!r})
extensions = ["myst_nb", "self_check"]
nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence", "dollarmath"]
exclude_patterns = ["_build"]
"""

NUMERIC = """
:::{self-check}
:answer: share
:tolerance: 0.01
What share of the variance lies between subjects?
+++
Subject variance over the total: {glue:text}`share:.3f`.
:::
"""

CHOICE = """
:::{self-check}
What does `predict()` return?

( ) Each subject's own line.
    No: that is `fittedvalues`.
(x) The population line.
    Right: fixed effects only.
:::
"""


def glue_output(name, value, glue=None):
    """The display output a notebook cell stores when it glues ``value``."""
    InteractiveShell.instance()
    with capture_output() as captured:
        (glue or course.glue)(name, value)
    (shown,) = captured.outputs
    return nbformat.v4.new_output("display_data", data=shown.data, metadata=shown.metadata)


def build(tmp_path: Path, markdown: str, glued: dict) -> tuple[int, str, Path]:
    """Build a notebook with one glue cell and one markdown cell; (status, log, html root)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text(CONF)
    cell = nbformat.v4.new_code_cell("# glue")
    cell.outputs = [glue_output(name, value) for name, value in glued.items()]
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Questions"),
            cell,
            nbformat.v4.new_markdown_cell(markdown),
        ]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, source / "index.ipynb")
    output = tmp_path / "html"
    log = io.StringIO()
    with redirect_stderr(log):
        status = build_main(["-b", "html", "-W", "-q", "-E", str(source), str(output)])
    return status, log.getvalue(), output


def questions(output: Path):
    page = BeautifulSoup((output / "index.html").read_text(), "html.parser")
    return page, page.select("div.self-check")


def test_course_glue_writes_what_myst_nb_glue_writes():
    from myst_nb import glue as myst_glue

    for value in (0.589, 17, "text", np.float64(2.5)):
        ours = glue_output("key", value)
        theirs = glue_output("key", value, glue=lambda n, v: myst_glue(n, v, display=False))
        assert ours == theirs


def test_course_glue_needs_a_name():
    with pytest.raises(TypeError):
        course.glue("", 1.0)


def test_numeric_question_takes_its_answer_from_the_glued_value(tmp_path):
    status, log, output = build(tmp_path, NUMERIC, {"share": 0.58932})
    assert status == 0, log
    page, found = questions(output)
    (question,) = found
    assert question["data-kind"] == "number"
    assert float(question["data-answer"]) == 0.58932
    assert float(question["data-tolerance"]) == 0.01
    # Shown one digit finer than the tolerance.
    assert question["data-shown"] == "0.589"
    field = question.select_one("input.self-check-input")
    label = question.find("label", attrs={"for": field["id"]})
    assert label is not None and label.get_text(strip=True)
    verdict = question.select_one(".self-check-verdict")
    assert verdict["aria-live"] == "polite" and verdict["role"] == "status"
    assert verdict["id"] in field["aria-describedby"].split()
    assert question.select_one("button[type=submit]") is not None
    explanation = question.select_one(".self-check-explanation")
    assert explanation.has_attr("hidden") and "0.589" in explanation.get_text()
    assert "between subjects" in question.select_one(".self-check-prompt").get_text()
    # The page loads the extension's script and stylesheet, from the site itself.
    assert page.find("script", src=lambda s: s and "self_check.js" in s)
    assert page.find("link", href=lambda s: s and "self_check.css" in s)
    assert (output / "_static" / "self_check.js").is_file()


def test_numpy_scalars_are_read_as_numbers(tmp_path):
    # (myst-nb's {glue:text} role cannot format a NumPy repr, hence a question without it.)
    plain = NUMERIC.replace(": {glue:text}`share:.3f`", "")
    status, log, output = build(tmp_path, plain, {"share": np.float64(0.25)})
    assert status == 0, log
    _, (question,) = questions(output)
    assert float(question["data-answer"]) == 0.25


def test_choice_question_marks_the_right_choice_and_explains_each(tmp_path):
    status, log, output = build(tmp_path, CHOICE, {})
    assert status == 0, log
    _, (question,) = questions(output)
    assert question["data-kind"] == "choice"
    choices = question.select(".self-check-choice")
    assert [c["data-right"] for c in choices] == ["false", "true"]
    radios = question.select("input[type=radio]")
    assert len({r["name"] for r in radios}) == 1
    for choice, radio in zip(choices, radios):
        label = choice.find("label", attrs={"for": radio["id"]})
        assert label is not None and label.find("p") is None  # phrasing content only
        assert choice.select_one(".self-check-why").has_attr("hidden")
    assert "fittedvalues" in choices[0].select_one(".self-check-why").get_text()
    fieldset = question.select_one("fieldset")
    assert fieldset.select_one("legend").get_text(strip=True)


@pytest.mark.parametrize(
    "markdown, glued, message",
    [
        (NUMERIC, {}, "no value glued under 'share'"),
        (NUMERIC, {"share": "about a half"}, "not a number"),
        (NUMERIC.replace(":tolerance: 0.01\n", ""), {"share": 0.5}, "needs :tolerance:"),
        (NUMERIC.replace("0.01", "-1"), {"share": 0.5}, "tolerance"),
        (CHOICE.replace("(x)", "( )"), {}, "no choice is marked right"),
        (CHOICE.split("(x)")[0] + ":::\n", {}, "two or more choices"),
    ],
)
def test_a_broken_question_stops_the_build_with_a_clear_error(tmp_path, markdown, glued, message):
    status, log, _ = build(tmp_path, markdown, glued)
    assert status != 0
    assert message in log, log


def test_the_student_edition_keeps_the_questions(tmp_path):
    # The student edition is the book built with scripts/student_edition.py as an extra
    # extension (which removes solutions); the questions are the students' own check.
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "student", ROOT / "scripts" / "student_edition.py"
    )
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    config = student.student_config()
    assert "self_check" in config["sphinx"]["config"]["extensions"]
    assert Path(config["sphinx"]["local_extensions"]["self_check"]) == ROOT / "_ext"

    global CONF
    original = CONF
    CONF = original.replace(
        'extensions = ["myst_nb", "self_check"]',
        f"sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        'extensions = ["myst_nb", "sphinx_exercise", "self_check", "student_edition"]',
    )
    try:
        markdown = (
            CHOICE + "\n:::{exercise}\n:label: ex-one\nAn exercise.\n:::\n\n"
            ":::{solution} ex-one\nA solution.\n:::\n"
        )
        status, log, output = build(tmp_path, markdown, {})
    finally:
        CONF = original
    assert status == 0, log
    page, found = questions(output)
    assert len(found) == 1 and found[0].select("input[type=radio]")
    assert page.select("div.exercise") and not page.select("div.solution")


def test_the_instructors_page_lists_every_question_under_its_chapter():
    import re

    directive = re.compile(r"^:::\{self-check\}\n(.*?)^:::$", re.S | re.M)
    page = (ROOT / "instructors.md").read_text()
    section = page[page.index("## Self-check questions") :]
    listed = 0
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        bodies = [
            b
            for cell in notebook.cells
            if cell.cell_type == "markdown"
            for b in directive.findall(cell.source)
        ]
        if not bodies:
            continue
        link = f"<chapters/{path.stem}>"
        assert link in section, f"instructors.md has no list for {path.stem}"
        chapter = section[section.index(link) :]
        following = re.search(r"\n### ", chapter)
        chapter = chapter[: following.start()] if following else chapter
        for body in bodies:
            prompt = []
            for line in body.splitlines():
                if line.strip() == "+++" or re.match(r"^\((x| )\) ", line):
                    break
                if not re.match(r"^:\w+: ", line):
                    prompt.append(line.strip())
            text = " ".join(line for line in prompt if line)
            assert text in chapter, f"{path.stem}: instructors.md does not list {text!r}"
            listed += 1
    assert listed >= 33
