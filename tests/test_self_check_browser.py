"""Self-check questions in a real browser (Debian's Chromium, driven by Playwright).

On every chapter page with questions, every question is answered right and wrong, with the
keyboard and with the mouse, and must say "correct" / "incorrect" in its class and text.
The right answers come from the notebooks, not from the page: a numeric question's glued
value (read from the stored output) rounded to the precision its tolerance asks for, and a
choice question's choice marked (x) in the markdown. Every core chapter must have at least
three questions. The questions must also pass axe-core (light mode; dark mode at a 390 px
phone width, where they must not overflow), and the pages may load nothing from other hosts
except MathJax, as tests/test_browser.py allows.

The pages are served on 127.0.0.1 and the browser is never let out. Without Chromium, or
without axe-core (npm; see AXE below), these tests are skipped with a message, except
under CI, where they fail.
"""

from __future__ import annotations

import functools
import math
import os
import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright
from test_book_build import toc_files
from test_browser import CHROMIUM, CHROMIUM_ARGS, serve  # sealed Chromium, quiet server

from conftest import ROOT

# axe-core as npm installs it into the repository (package.json), or where AXE_CORE_JS says.
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
CHAPTER_PAGES = [name for name in toc_files() if name.startswith("chapters/")]
CORE_CHAPTERS = [name for name in CHAPTER_PAGES if re.match(r"chapters/\d\d-", name)]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

DIRECTIVE = re.compile(r"^:::\{self-check\}\n(.*?)^:::$", re.S | re.M)
CHOICE = re.compile(r"^\((x| )\) ")
GLUED_NUMBER = re.compile(r"^(?:np\.[a-z0-9_]+\()?([-+0-9.eE]+)\)?$")


def unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def glued_values(notebook) -> dict[str, float]:
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            text = output["data"].get(scrapbook.get("mime_prefix", "") + "text/plain", "")
            match = GLUED_NUMBER.match(text.strip())
            if match:
                values[scrapbook["name"]] = float(match.group(1))
    return values


@functools.cache
def expected_questions(name: str) -> tuple[dict, ...]:
    """Each question of a chapter notebook, in page order, with its right answer."""
    notebook = nbformat.read(ROOT / f"{name}.ipynb", as_version=4)
    glued = glued_values(notebook)
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for body in DIRECTIVE.findall(cell.source):
            lines = body.splitlines()
            options = dict(re.findall(r"^:(\w+): (.+)$", body, re.M))
            if "answer" in options:
                assert options["answer"] in glued, f"{name}: {options['answer']} is not glued"
                found.append(
                    {
                        "kind": "number",
                        "answer": glued[options["answer"]],
                        "tolerance": float(options["tolerance"]),
                    }
                )
            else:
                marks = [CHOICE.match(line).group(1) for line in lines if CHOICE.match(line)]
                found.append(
                    {
                        "kind": "choice",
                        "right": marks.index("x"),
                        "wrong": marks.index(" "),
                        "choices": len(marks),
                    }
                )
    return tuple(found)


def typed(value: float, tolerance: float) -> str:
    """The value as a reader would type it: to the decimals the tolerance asks for."""
    decimals = max(0, math.ceil(-math.log10(tolerance)))
    return f"{value:.{decimals}f}"


@pytest.fixture(scope="module")
def site(built_site):
    server, thread = serve(built_site)
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        unavailable(f"no browser at {CHROMIUM} (apt-get install chromium) for the browser tests")
    if not AXE.exists():
        unavailable(f"no axe-core at {AXE} (npm install) for the accessibility checks")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_page(context, base_url: str, name: str):
    """Load a page with the browser kept in; return the page and its problems."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base_url) or url.startswith("data:"):
            request_route.continue_()
        else:
            # The site ships everything it needs (math included): any other host is a fault.
            problems.append(f"request to another host: {url}")
            request_route.abort()

    page.route("**/*", route)
    page.goto(f"{base_url}{name}.html", wait_until="load")
    page.wait_for_function("document.querySelectorAll('.self-check:not(.ready)').length === 0")
    return page, problems


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        // No preload: axe would re-fetch the theme's stylesheets and resolve their
        // @import of basic.css against the wrong folder (a 404 of axe's own making).
        const result = await axe.run(document.querySelectorAll('.self-check'),
                                     {resultTypes: ['violations'], preload: false});
        return result.violations.map(v => `${v.id}: ${v.help} (${v.nodes.length} elements: `
            + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join('; ') + ')');
    }""")


def verdict(question) -> tuple[list[str], str]:
    classes = question.evaluate("element => [...element.classList]")
    return classes, question.locator(".self-check-verdict").inner_text().strip()


def answer_number(page, question, text: str, keyboard: bool):
    field = question.locator("input.self-check-input")
    field.fill("")
    if keyboard:
        field.focus()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
    else:
        field.fill(text)
        question.locator("button.self-check-submit").click()


def answer_choice(page, question, index: int, keyboard: bool):
    radio = question.locator("input[type=radio]").nth(index)
    if keyboard:
        radio.focus()
        page.keyboard.press("Space")
        page.keyboard.press("Enter")
    else:
        label_for = radio.get_attribute("id")
        question.locator(f"label[for='{label_for}']").click()
        question.locator("button.self-check-submit").click()
    assert radio.is_checked()


def test_every_core_chapter_has_three_questions_or_more():
    counts = {name: len(expected_questions(name)) for name in CORE_CHAPTERS}
    assert len(counts) >= 11, counts
    assert all(n >= 3 for n in counts.values()), counts


@pytest.mark.parametrize("name", [n for n in CHAPTER_PAGES if expected_questions(n)])
def test_every_question_marks_a_right_and_a_wrong_answer(name, site, browser):
    expected = expected_questions(name)
    context = browser.new_context(viewport=DESKTOP, color_scheme="light", service_workers="block")
    try:
        page, problems = open_page(context, site, name)
        questions = page.locator(".self-check")
        assert questions.count() == len(expected)
        for index, spec in enumerate(expected):
            question = questions.nth(index)
            where = f"{name}, question {index + 1}"
            if spec["kind"] == "number":
                right = typed(spec["answer"], spec["tolerance"])
                wrong = typed(spec["answer"] + 3 * spec["tolerance"], spec["tolerance"])
                answer_number(page, question, right, keyboard=True)
                classes, text = verdict(question)
                assert "correct" in classes and text.startswith("Correct."), (where, right, text)
                answer_number(page, question, wrong, keyboard=False)
                classes, text = verdict(question)
                assert "incorrect" in classes and "correct" not in classes, (where, wrong, classes)
                assert text.startswith("Incorrect."), (where, wrong, text)
                # The verdict gives the chapter's value, as the page shows it.
                assert question.get_attribute("data-shown") in text, (where, text)
            else:
                assert question.locator("input[type=radio]").count() == spec["choices"], where
                answer_choice(page, question, spec["right"], keyboard=True)
                classes, text = verdict(question)
                assert "correct" in classes and text.startswith("Correct."), (where, text)
                assert len(text) > len("Correct.") + 10, (where, "no explanation", text)
                answer_choice(page, question, spec["wrong"], keyboard=False)
                classes, text = verdict(question)
                assert "incorrect" in classes and "correct" not in classes, (where, classes)
                assert text.startswith("Incorrect.") and len(text) > len("Incorrect.") + 10, (
                    where,
                    text,
                )
        # An empty numeric answer is neither right nor wrong.
        numeric = [i for i, spec in enumerate(expected) if spec["kind"] == "number"]
        if numeric:
            question = questions.nth(numeric[0])
            answer_number(page, question, "", keyboard=False)
            classes, text = verdict(question)
            assert "correct" not in classes and "incorrect" not in classes and text, (name, text)
        assert axe_violations(page) == [], name
        assert problems == [], problems
    finally:
        context.close()


@pytest.mark.parametrize("name", [n for n in CHAPTER_PAGES if expected_questions(n)])
def test_questions_in_dark_mode_on_a_phone(name, site, browser):
    context = browser.new_context(
        viewport=PHONE, color_scheme="dark", service_workers="block", is_mobile=True, has_touch=True
    )
    try:
        page, problems = open_page(context, site, name)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        questions = page.locator(".self-check")
        # One question answered right and one wrong, so that both verdicts are checked too.
        for index, spec in enumerate(expected_questions(name)[:2]):
            question = questions.nth(index)
            if spec["kind"] == "number":
                shift = 0 if index == 0 else 3 * spec["tolerance"]
                answer_number(
                    page, question, typed(spec["answer"] + shift, spec["tolerance"]), keyboard=False
                )
            else:
                answer_choice(
                    page, question, spec["right"] if index == 0 else spec["wrong"], keyboard=False
                )
        overflowing = page.evaluate(f"""() => [...document.querySelectorAll('.self-check')]
            .map((q, i) => [i + 1, q.getBoundingClientRect().right, q.scrollWidth - q.clientWidth])
            .filter(([i, right, extra]) => right > {PHONE["width"]} + 0.5 || extra > 0)""")
        assert overflowing == [], f"{name}: questions wider than the phone: {overflowing}"
        assert axe_violations(page) == [], name
        assert problems == [], problems
    finally:
        context.close()
