"""The built site in a real browser (Debian's Chromium, driven by Playwright).

Every page in the table of contents is served on 127.0.0.1 and loaded: it must log no
console error, load every image and resource, link only to files and #anchors that exist,
show Binder and Colab buttons for its own notebook on branch main, and fit a 375 px phone
screen without scrolling sideways. With COURSE_SCREENSHOTS=1, a screenshot of each page goes
to <build>/screenshots/.
Solutions must be hidden until clicked; search and figures in dark mode are checked too.

The pages load nothing from other hosts: the math is typeset at build time by the pinned
MathJax (_ext/course_site.py) and the site ships everything else it shows. A request for
any other host fails the page's test. Chromium itself is sealed: it resolves no host name
and reaches no address but the test server's (CHROMIUM_ARGS; test_the_browser_is_sealed
proves it from Chromium's own network log). Every page also passes axe-core (pinned in
package.json, installed by `npm ci`) with no violation.

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
from test_book_build import toc_files

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Sealed: every host name but 127.0.0.1 resolves to nothing, and every connection but one
# to 127.0.0.1 goes to a proxy at 127.0.0.1:9, where nothing listens (so an address given
# as a number cannot leave either).
SEALED = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    *SEALED,
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
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


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def broken_internal_links(
    html_root: Path, base_url: str, page_url: str, hrefs: list[str]
) -> list[str]:
    """Links into the site whose file, or #anchor within the file, does not exist."""
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base_url):
            continue
        parts = urllib.parse.urlsplit(href)
        relative = (
            urllib.parse.unquote(parts.path)
            .removeprefix(urllib.parse.urlsplit(base_url).path)
            .lstrip("/")
        )
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
        self.page.on(
            "console",
            lambda m: (
                m.type == "error"
                and self.errors.append(f"console: {m.text} ({m.location.get('url', '')})")
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on(
            "requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}")
        )
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"),
        )
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith("data:"):
            route.continue_()
        else:
            # Recorded (the page's test fails on it) and refused.
            self.external.append(url)
            route.abort("blockedbyclient")

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        # Deferred scripts have run by "load"; give queued tasks (togglebutton, theme) a turn.
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        return self.page

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(
        viewport=DESKTOP, color_scheme="light", reduced_motion="reduce", service_workers="block"
    )
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


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as loaded (the script is injected, not fetched)."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed ({AXE}): run `npm ci` in {ROOT}")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.help}; ` +
            v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ') +
            (v.nodes.length > 3 ? ` and ${v.nodes.length - 3} more` : ''));
    }""")
    return result


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

    problems += [f"loads from another host: {u}" for u in one.external]
    problems += [f"axe-core: {v}" for v in axe_violations(page)]

    # Figures load lazily; ask for all of them, as a reader scrolling down would.
    page.evaluate("""() => Promise.all(Array.from(document.images, img => {
        img.loading = 'eager'; return img.decode().catch(() => {}); }))""")
    broken_images = page.evaluate("""() => Array.from(document.images)
        .filter(img => !(img.complete && img.naturalWidth > 0))
        .map(img => img.getAttribute('src'))""")
    problems += [f"image did not load: {src}" for src in broken_images]

    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    problems += [
        f"broken link: {b}" for b in broken_internal_links(html_root, base_url, page.url, hrefs)
    ]

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
                    state="visible", timeout=3_000
                )
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
    names = [
        n
        for n in names
        if "<img" in (html_root / f"{n}.html").read_text().split('class="cell_output', 1)[1]
    ]
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
        margin = [
            shot.getpixel((x, y)) for x in (6, width // 2, width - 7) for y in (6, height - 7)
        ]
        assert all(min(c) >= 250 for c in margin), (
            f"{names[0]}: the figure's margin in dark mode is {margin}, not white"
        )
        assert not one.errors, one.errors
        one.close()
    finally:
        dark.close()


# What the pages above rely on, read from the configuration and the built HTML.


def test_no_console_error_sources_in_the_configuration():
    """sphinx_thebe is left out (its inline script is emitted twice) and the mode is set."""
    from jupyter_book.config import get_default_sphinx_config, get_final_config

    final, _ = get_final_config(
        user_yaml=ROOT / "_config.yml", sourcedir=ROOT, cli_config={"latex_individualpages": False}
    )
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
                problems.append(
                    f"{name}: exercise {index} has no ex-<slug>-<n> anchor ({anchor!r})"
                )
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


# Reading on a phone and a desktop.

CHAPTER = "chapters/02-random-intercepts"


@pytest.fixture
def phone(browser, site):
    ctx = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        service_workers="block",
    )
    yield ctx, site[1]
    ctx.close()


def test_phone_navigation_buttons_open_the_contents_and_the_sections(phone):
    ctx, base_url = phone
    one = Visit(ctx, base_url)
    page = one.open(f"{base_url}{CHAPTER}.html")
    chapters = page.locator("dialog#pst-primary-sidebar-modal nav.bd-docs-nav a.reference")
    sections = page.locator("dialog#pst-secondary-sidebar-modal nav#pst-page-toc-nav a")
    assert not chapters.first.is_visible() and not sections.first.is_visible()

    page.locator(".primary-toggle:visible").first.tap()
    chapters.first.wait_for(state="visible", timeout=5_000)
    titles = chapters.evaluate_all("links => links.map(a => a.textContent.trim())")
    assert any("Random slopes" in t for t in titles), titles
    page.keyboard.press("Escape")
    chapters.first.wait_for(state="hidden", timeout=5_000)

    page.locator(".secondary-toggle:visible").first.tap()
    sections.first.wait_for(state="visible", timeout=5_000)
    headings = page.evaluate(
        "() => Array.from(document.querySelectorAll('article h2'), "
        "h => h.textContent.replace('#', '').trim())"
    )
    listed = sections.evaluate_all("links => links.map(a => a.textContent.trim())")
    assert headings and all(h in listed for h in headings), (headings, listed)
    assert not one.errors, one.errors
    one.close()


def test_desktop_sidebar_button_hides_and_shows_the_contents(visit):
    page = visit(f"{CHAPTER}.html").page
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator(".primary-toggle:visible").first.click()
    sidebar.wait_for(state="hidden", timeout=5_000)
    page.locator(".primary-toggle:visible").first.click()
    sidebar.wait_for(state="visible", timeout=5_000)


def test_math_is_typeset_and_shipped_with_the_site(visit):
    """Rendered MathJax (an SVG per expression, MathML for screen readers), no raw TeX."""
    one = visit(f"{CHAPTER}.html")
    page = one.page
    formulas = page.locator("article mjx-container svg")
    assert formulas.count() >= 10
    first = formulas.first
    first.scroll_into_view_if_needed()
    box = first.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 5
    containers = page.locator("article mjx-container")
    assert (
        page.locator("article mjx-container > mjx-assistive-mml > math").count()
        == containers.count()
    )
    text = page.evaluate("() => document.querySelector('article').innerText")
    for raw in ("\\(", "\\[", "\\frac", "\\sigma", "$$"):
        assert raw not in text, f"raw TeX {raw!r} on the page"
    assert not one.external and not one.errors, (one.external, one.errors)


def test_the_browser_is_sealed(tmp_path, site, browser):
    """Chromium's own network log: no host name resolved, no connection but to 127.0.0.1."""
    import json

    html_root, base_url = site
    log_path = tmp_path / "netlog.json"
    # A second Chromium, launched as the others are, that writes its network log.
    sealed = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, f"--log-net-log={log_path}", "--net-log-capture-mode=Default"],
    )
    try:
        page = sealed.new_page()
        page.goto(f"{base_url}{CHAPTER}.html", wait_until="load")
        # What a page could try: a host name, an address as a number, https.
        outcomes = page.evaluate("""async () => {
            const out = {};
            for (const url of ['http://example.org/', 'https://example.net/a.js', 'http://192.0.2.1/']) {
                try { await fetch(url, {mode: 'no-cors'}); out[url] = 'reached'; }
                catch (e) { out[url] = String(e); }
            }
            return out;
        }""")
    finally:
        sealed.close()
    assert all(v != "reached" for v in outcomes.values()), outcomes
    log = json.loads(log_path.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    addresses, hosts = set(), set()
    for event in log["events"]:
        params = event.get("params") or {}
        kind = names[event["type"]]
        # Not UDP_CONNECT: Chromium's IPv6 reachability check connect()s a UDP socket to a
        # public address only to ask the kernel for a route, and sends nothing on it; a
        # datagram that is sent shows as UDP_BYTES_SENT, which is checked.
        if kind in {"TCP_CONNECT_ATTEMPT", "TCP_CONNECT", "UDP_BYTES_SENT"}:
            for key in ("address", "remote_address"):
                if key in params:
                    addresses.add(params[key].rsplit(":", 1)[0])
            addresses.update(a.rsplit(":", 1)[0] for a in params.get("address_list", []))
        if kind == "HOST_RESOLVER_MANAGER_REQUEST" and "host" in params:
            hosts.add(urllib.parse.urlsplit(params["host"]).hostname or params["host"])
    assert "127.0.0.1" in addresses, "the log shows no connection at all; is it the right log?"
    assert addresses <= {"127.0.0.1"}, f"connections to {addresses - {'127.0.0.1'}}"
    # A lookup is logged before the rules map its name to ~NOTFOUND, an invalid name.
    assert hosts <= {"127.0.0.1", "~notfound"}, f"host names looked up: {hosts}"


def test_figures_are_sharp_and_open_full_size(visit):
    """At least 2 image pixels per CSS pixel at desktop width; each figure links to itself."""
    problems, seen = [], 0
    for name in [n for n in PAGES if (ROOT / f"{n}.ipynb").exists()]:
        page = visit(f"{name}.html").page
        figures = page.evaluate("""async () => {
            const images = Array.from(document.querySelectorAll('div.cell_output img'));
            for (const img of images) { img.loading = 'eager'; await img.decode().catch(() => {}); }
            return images.map(img => ({src: img.getAttribute('src'), natural: img.naturalWidth,
                shown: img.getBoundingClientRect().width,
                link: img.closest('a') ? img.closest('a').href : null}));
        }""")
        for figure in figures:
            seen += 1
            if figure["natural"] < 2 * figure["shown"] - 1:
                problems.append(
                    f"{name}: {figure['src']} has {figure['natural']} px for "
                    f"{figure['shown']:.0f} CSS px"
                )
            if not (figure["link"] or "").endswith(figure["src"].split("/")[-1]):
                problems.append(f"{name}: {figure['src']} does not open full size")
    assert seen, "no figure found"
    assert not problems, "\n".join(problems)


def test_figures_keep_their_shape_on_a_phone(context, site):
    """At phone width a figure is narrowed to the column; its height must follow (the stored
    display size used to keep the height and squash the figure)."""
    html_root, base_url = site
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    problems, seen = [], 0
    try:
        for name in [n for n in PAGES if (ROOT / f"{n}.ipynb").exists()]:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            figures = page.evaluate("""async () => {
                const images = Array.from(document.querySelectorAll('div.cell_output img'));
                for (const img of images) { img.loading = 'eager'; await img.decode().catch(() => {}); }
                return images.map(img => ({src: img.getAttribute('src'),
                    natural: img.naturalWidth / img.naturalHeight,
                    shown: img.getBoundingClientRect().width / img.getBoundingClientRect().height}));
            }""")
            for figure in figures:
                seen += 1
                if abs(figure["shown"] / figure["natural"] - 1) > 0.02:
                    problems.append(
                        f"{name}: {figure['src']} is shown at aspect ratio {figure['shown']:.2f}, "
                        f"drawn at {figure['natural']:.2f}"
                    )
    finally:
        page.close()
    assert seen, "no figure found"
    assert not problems, "\n".join(problems)


def test_code_fits_at_desktop_width_and_inline_code_breaks_only_at_its_edges(context, site):
    html_root, base_url = site
    page = context.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    problems = []
    try:
        for name in PAGES:
            page.goto(f"{base_url}{name}.html", wait_until="load")
            problems += [
                f"{name}: {p}"
                for p in page.evaluate("""() => {
                const out = [];
                for (const pre of document.querySelectorAll('article div.cell_input pre, article div.cell_output pre')) {
                    if (pre.scrollWidth > pre.clientWidth + 1)
                        out.push(`code scrolls sideways: ${pre.textContent.split('\\n')[0].slice(0, 60)}`);
                }
                for (const code of document.querySelectorAll('article code.literal')) {
                    if (code.getClientRects().length < 2) continue;
                    // Where does the line break? Between two letters or digits is mid-word,
                    // unless the token is wider than its whole line.
                    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
                    const chars = [];
                    for (let n = walker.nextNode(); n; n = walker.nextNode())
                        for (let i = 0; i < n.length; i++) chars.push([n, i]);
                    let previous = null;
                    for (let k = 0; k < chars.length; k++) {
                        const range = document.createRange();
                        range.setStart(chars[k][0], chars[k][1]);
                        range.setEnd(chars[k][0], chars[k][1] + 1);
                        const rect = range.getBoundingClientRect();
                        if (rect.width === 0) continue;
                        if (previous && rect.top > previous.top + 2) {
                            const before = chars[k - 1][0].data[chars[k - 1][1]];
                            const after = chars[k][0].data[chars[k][1]];
                            const line = code.closest('p, li, td, th, dd, dt, div').clientWidth;
                            if (/\\w/.test(before) && /\\w/.test(after) && code.scrollWidth < line)
                                out.push(`inline code broken mid-word: ${code.textContent}`);
                        }
                        previous = rect;
                    }
                }
                return out;
            }""")
            ]
    finally:
        page.close()
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_appendices_carry_their_letters(built_site):
    """The instructors page says 'appendix A/B'; the pages and the contents say so too."""
    from bs4 import BeautifulSoup

    appendices = [n for n in PAGES if re.search(r"(^|/)appendix-[a-z]-", n)]
    assert appendices
    for name in appendices:
        letter = re.search(r"appendix-([a-z])-", name).group(1).upper()
        soup = BeautifulSoup((built_site / f"{name}.html").read_text(), "html.parser")
        title = soup.select_one("article h1").get_text(" ", strip=True)
        assert title.startswith(f"Appendix {letter}: "), title
        entries = [a.get_text(" ", strip=True) for a in soup.select("nav.bd-docs-nav a")]
        assert any(e.startswith(f"Appendix {letter}: ") for e in entries), entries
