"""The built site in a real browser (Debian's Chromium, driven by Playwright).

Every page in the table of contents is served on 127.0.0.1 and loaded: it must log no
console error, load every image and resource, link only to files and #anchors that exist,
show Binder and Colab buttons for its own notebook on branch main, and fit a 375 px phone
screen without scrolling sideways. With COURSE_SCREENSHOTS=1, a screenshot of each page goes
to <build>/screenshots/.
Solutions must be hidden until clicked; search and figures in dark mode are checked too.

The pages load nothing from other hosts except MathJax on pages with mathematics; the
browser is never let out: such requests are answered locally with an empty response and
recorded, so they neither hang the test nor log an error.

Without a browser these tests are skipped with a message, except under CI, where they fail.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import io
import os
import re
import threading
import urllib.parse
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright
from sphinx.ext.mathjax import MATHJAX_URL

from conftest import ROOT
from test_book_build import toc_files

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = toc_files()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def launch_links(page_name: str) -> dict[str, str]:
    """The Binder and Colab addresses a chapter's buttons must have, from _config.yml."""
    repository = CONFIG["repository"]
    owner_repo = repository["url"].removeprefix("https://github.com/").strip("/")
    branch = repository["branch"]
    notebook = f"{repository['path_to_book'].strip('/')}/{page_name}.ipynb".lstrip("/")
    buttons = CONFIG["launch_buttons"]
    interface = {"jupyterlab": "lab/tree", "classic": "tree"}[buttons["notebook_interface"]]
    return {
        "Binder": f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{owner_repo}/{branch}"
                  f"?urlpath={interface}/{notebook}",
        "Colab": f"{buttons['colab_url'].rstrip('/')}/github/{owner_repo}/blob/{branch}/{notebook}",
    }


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def ids_in(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def broken_internal_links(html_root: Path, base_url: str, page_url: str,
                          hrefs: list[str]) -> list[str]:
    """Links into the site whose file, or #anchor within the file, does not exist."""
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base_url):
            continue
        parts = urllib.parse.urlsplit(href)
        relative = urllib.parse.unquote(parts.path).removeprefix(
            urllib.parse.urlsplit(base_url).path).lstrip("/")
        target = html_root / relative
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file {relative})")
            continue
        fragment = urllib.parse.unquote(parts.fragment)
        if fragment and target.suffix == ".html" and fragment not in ids_in(target):
            broken.append(f"{href} (no id {fragment!r} in {relative})")
    return broken


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def site(built_site):
    server, thread = serve(built_site)
    yield built_site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"no browser at {CHROMIUM} (apt-get install chromium) for the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Visit:
    """One page load with everything the browser reported while loading it."""

    def __init__(self, context, base_url: str):
        self.base_url = base_url
        self.page = context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(
            f"request failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"HTTP {r.status}: {r.url}"))
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith("data:"):
            route.continue_()
        else:
            # Never let the browser out; an empty answer loads nothing and logs nothing.
            self.external.append(url)
            route.fulfill(status=200, body="", content_type="text/plain")

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        # Deferred scripts have run by "load"; give queued tasks (togglebutton, theme) a turn.
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        return self.page

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP, color_scheme="light", reduced_motion="reduce",
                              service_workers="block")
    # Every page is a reader's first visit: nothing remembered from the pages before.
    ctx.add_init_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    yield ctx
    ctx.close()


@pytest.fixture
def visit(context, site):
    opened = []

    def open_page(path: str):
        one = Visit(context, site[1])
        opened.append(one)
        one.open(site[1] + path)
        return one

    yield open_page
    for one in opened:
        one.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_in_a_real_browser(name, site, visit):
    html_root, base_url = site
    one = visit(f"{name}.html")
    page = one.page
    if os.environ.get("COURSE_SCREENSHOTS"):
        # Full-page screenshots take seconds per page and are for a person to look at;
        # COURSE_SCREENSHOTS=1 bash scripts/run-tests.sh writes them.
        screenshots = html_root.parent / "screenshots"
        screenshots.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshots / f"{name.replace('/', '__')}.png"), full_page=True)

    problems = list(one.errors)

    unexpected = [u for u in one.external if not u.startswith(MATHJAX_URL)]
    problems += [f"loads from another host: {u}" for u in unexpected]

    broken_images = page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0))
        .map(img => img.getAttribute('src'))""")
    problems += [f"image did not load: {src}" for src in broken_images]

    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    problems += [f"broken link: {b}" for b in
                 broken_internal_links(html_root, base_url, page.url, hrefs)]

    if (ROOT / f"{name}.ipynb").exists():
        for service, wanted in launch_links(name).items():
            if wanted not in hrefs:
                found = [h for h in hrefs if service.lower() in h.lower()]
                problems.append(f"{service} button should open {wanted}; found {found}")
        if not any(h.endswith(f"_sources/{name}.ipynb") for h in hrefs):
            problems.append("no download button for the .ipynb")
    elif not any(h.endswith(f"_sources/{name}.md") for h in hrefs):
        problems.append("no download button for the .md")
    repository = CONFIG["repository"]["url"]
    if repository not in hrefs:
        problems.append("no repository button")
    if not any(h.startswith(f"{repository}/issues/new") for h in hrefs):
        problems.append("no issue button")

    # Solutions are hidden until the reader clicks; clicking the first one shows it.
    solutions = page.locator("div.solution")
    if solutions.count():
        shown = page.evaluate("""() => Array.from(document.querySelectorAll('div.solution'))
            .filter(s => Array.from(s.children).some(
                c => !c.classList.contains('admonition-title') &&
                     c.checkVisibility({visibilityProperty: true, opacityProperty: true})))
            .map(s => s.id)""")
        problems += [f"solution {s} is visible before a click" for s in shown]
        hidden = page.locator("div.solution.toggle-hidden")
        if hidden.count():
            # By id: a locator is re-resolved, and this one stops matching once opened.
            first = page.locator(f'[id="{hidden.first.get_attribute("id")}"]')
            try:
                first.locator(".toggle-button").click(timeout=5_000)
                first.locator(":scope > :not(.admonition-title)").first.wait_for(
                    state="visible", timeout=3_000)
            except PlaywrightTimeoutError:
                problems.append(f"solution {first.get_attribute('id')} does not open on a click")

    page.set_viewport_size(PHONE)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # The page must not scroll sideways, and neither may the article: the theme lets its
    # container scroll on its own (overflow-x: auto), which the page's width would not show.
    # Code, outputs and tables scroll inside their own boxes, which is fine.
    overflow = page.evaluate("""() => {
        const boxes = [document.documentElement, document.querySelector('.bd-article-container')];
        const report = [];
        for (const box of boxes.filter(Boolean)) {
            if (box.scrollWidth <= box.clientWidth + 1) continue;
            const edge = box.getBoundingClientRect().left + box.clientWidth;
            const wide = Array.from(box.querySelectorAll('*'))
                .filter(e => e.getBoundingClientRect().right > edge + 1)
                .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + e.className);
            report.push(`${box.tagName.toLowerCase()}.${box.className}: scrollWidth ` +
                        `${box.scrollWidth} > clientWidth ${box.clientWidth} (${wide})`);
        }
        return report.length ? report.join('; ') : null;
    }""")
    if overflow:
        problems.append(f"scrolls sideways at {PHONE['width']} px: {overflow}")
    page.set_viewport_size(DESKTOP)

    assert not problems, f"{name}.html:\n  " + "\n  ".join(problems)


def test_search_finds_the_random_slopes_chapter(visit):
    one = visit("search.html?q=random+slope")
    page = one.page
    page.wait_for_selector("#search-results ul.search li a", timeout=15_000)
    results = page.evaluate("""() => Array.from(
        document.querySelectorAll('#search-results ul.search li a'), a => a.href)""")
    assert any(r.split("#")[0].endswith("chapters/03-random-slopes.html") for r in results), results
    assert not one.errors, one.errors


def pages_with(html_root: Path, marker: str) -> list[str]:
    return [name for name in PAGES if marker in (html_root / f"{name}.html").read_text()]


def test_the_course_has_solutions_to_check(built_site):
    """The per-page test checks solutions where there are some; make sure there are."""
    assert pages_with(built_site, 'class="solution'), "no page has a solution"


def test_figures_keep_a_white_background_in_dark_mode(browser, site):
    from PIL import Image

    html_root, base_url = site
    names = pages_with(html_root, 'class="cell_output')
    names = [n for n in names if "<img" in (html_root / f"{n}.html").read_text()
             .split('class="cell_output', 1)[1]]
    assert names, "no page has a figure"
    dark = browser.new_context(viewport=DESKTOP, color_scheme="dark", service_workers="block")
    try:
        one = Visit(dark, base_url)
        page = one.open(f"{base_url}{names[0]}.html")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        figure = page.locator("div.cell_output img").first
        figure.scroll_into_view_if_needed()
        assert figure.evaluate("img => getComputedStyle(img).filter") == "none"
        shot = Image.open(io.BytesIO(figure.screenshot())).convert("RGB")
        width, height = shot.size
        # Just inside the rounded corners: the figure's white margin. The theme's own dark
        # mode filter would turn it light grey (about 219).
        margin = [shot.getpixel((x, y)) for x in (6, width // 2, width - 7) for y in (6, height - 7)]
        assert all(min(c) >= 250 for c in margin), (
            f"{names[0]}: the figure's margin in dark mode is {margin}, not white")
        assert not one.errors, one.errors
        one.close()
    finally:
        dark.close()


# What the pages above rely on, read from the configuration and the built HTML.

def test_no_console_error_sources_in_the_configuration():
    """sphinx_thebe is left out (its inline script is emitted twice) and the mode is set."""
    from jupyter_book.config import get_default_sphinx_config, get_final_config

    final, _ = get_final_config(user_yaml=ROOT / "_config.yml", sourcedir=ROOT,
                                cli_config={"latex_individualpages": False})
    extensions = final["extensions"]
    assert "sphinx_thebe" not in extensions
    missing = set(get_default_sphinx_config()["extensions"]) - {"sphinx_thebe"} - set(extensions)
    assert not missing, f"_config.yml's extension list lacks Jupyter Book defaults: {missing}"
    assert final["html_context"]["default_mode"] in {"auto", "light", "dark"}
    theme = final["html_theme_options"]
    assert theme["launch_buttons"]["binderhub_url"] and theme["launch_buttons"]["colab_url"]
    assert theme["use_repository_button"] and theme["use_issues_button"]
    assert (ROOT / "_static" / "course.css").is_file()


def chapter_numbers() -> dict[str, int]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbers, number = {}, 0
    for part in toc["parts"]:
        for entry in part["chapters"]:
            if part.get("numbered"):
                number += 1
                numbers[entry["file"]] = number
    return numbers


def test_chapters_are_numbered_and_exercises_are_labelled_and_linkable(built_site):
    from bs4 import BeautifulSoup

    seen_ids: dict[str, str] = {}
    problems = []
    numbers = chapter_numbers()
    unnumbered_count = 0
    for name in PAGES:
        number = numbers.get(name)
        soup = BeautifulSoup((built_site / f"{name}.html").read_text(), "html.parser")
        heading = soup.select_one("article h1 .section-number")
        if number and (heading is None or heading.get_text().strip() != f"{number}."):
            problems.append(f"{name}: title is not numbered {number}.")
        for index, exercise in enumerate(soup.select("div.exercise"), start=1):
            title = exercise.select_one(".admonition-title").get_text(" ", strip=True)
            # Chapters number their exercises N.M. Pages outside the numbered parts (the
            # appendices) share one running count, in the order of the table of contents.
            if number:
                wanted = f"Exercise {number}.{index}"
            else:
                unnumbered_count += 1
                wanted = f"Exercise {unnumbered_count}"
            if title.split(" (")[0].strip() != wanted:
                problems.append(f"{name}: exercise {index} is titled {title!r}")
            anchor = exercise.get("id", "")
            if not re.fullmatch(r"ex-[a-z0-9-]+-\d+", anchor):
                problems.append(f"{name}: exercise {index} has no ex-<slug>-<n> anchor ({anchor!r})")
            elif anchor in seen_ids:
                problems.append(f"{name}: anchor {anchor} is also used in {seen_ids[anchor]}")
            seen_ids[anchor] = name
    assert not problems, "\n".join(problems)


def test_bibliography_and_author_year_citations(built_site):
    from bs4 import BeautifulSoup

    references = BeautifulSoup((built_site / "references.html").read_text(), "html.parser")
    entries = references.select("div.citation")
    assert entries, "the bibliography page lists no reference"
    ids = {e["id"] for e in entries}
    citations = []
    for path in built_site.rglob("*.html"):
        soup = BeautifulSoup(path.read_text(), "html.parser")
        citations += [(path.name, c) for c in soup.select("span.bibtex-citation")]
    assert citations, "no page cites anything"
    for page, citation in citations:
        text = citation.get_text(" ", strip=True)
        # Author-year: "Belenky et al., 2003" or "Belenky et al. [2003]", never "[BWT+03]".
        assert re.search(r"[A-Z][^\d\[\]]+[\s,(\[]+\d{4}[a-z]?\b", text), f"{page}: {text!r}"
        for link in citation.select("a[href]"):
            assert link["href"].split("#")[1] in ids, f"{page}: {link['href']} is not in the list"


def test_glossary_has_its_terms(built_site):
    text = (built_site / "glossary.html").read_text()
    for term in ("BLUP", "ICC", "REML", "Shrinkage", "Partial-pooling"):
        assert f'id="term-{term}"' in text, term
