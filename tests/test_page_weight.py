"""A reader's first visit to any chapter transfers at most 1.3 MB, uncompressed.

Measured in Chromium (the browser tests' set-up): a fresh browser context, nothing cached,
the chapter opened at desktop size; the weight is the decoded size of the page and of every
file the browser fetched for it by the "load" event (stylesheets, scripts, fonts, the
figures on the first screen; figures further down load as the reader scrolls, and are
counted in the "all figures" column, which is reported, not budgeted). The table goes to
<build>/page-weights.txt; the README quotes it.

About 700 kB of every first visit is the theme's shared stylesheets and scripts. The
budget was 1.2 MB until chapter 4 gained three sections (multilevel notation, implied
covariances, the keep-it-maximal simulation): its page is now about 1.27 MB, more than
half of it typeset math (SVG with MathML for screen readers) and printed output.
"""

from __future__ import annotations

import pytest
from test_book_build import toc_files
from test_browser import DESKTOP, Visit, browser, site  # noqa: F401  (fixtures)

from conftest import ROOT

BUDGET = 1_300_000  # bytes, uncompressed
CHAPTERS = [n for n in toc_files() if (ROOT / f"{n}.ipynb").exists()]


def first_visit(browser, base_url: str, name: str) -> tuple[int, int, int]:  # noqa: F811
    """(bytes fetched by load, number of files, bytes of every figure on the page)."""
    context = browser.new_context(viewport=DESKTOP, color_scheme="light", service_workers="block")
    try:
        one = Visit(context, base_url)
        page = one.open(f"{base_url}{name}.html")
        assert not one.external, one.external
        fetched = page.evaluate("""() => {
            const entries = [...performance.getEntriesByType('navigation'),
                             ...performance.getEntriesByType('resource')];
            return [entries.reduce((sum, e) => sum + e.decodedBodySize, 0), entries.length];
        }""")
        figures = page.evaluate("""async () => {
            const images = Array.from(document.images);
            const sizes = await Promise.all(images.map(img =>
                fetch(img.src).then(r => r.arrayBuffer()).then(b => b.byteLength)));
            return sizes.reduce((a, b) => a + b, 0);
        }""")
        one.close()
        return fetched[0], fetched[1], figures
    finally:
        context.close()


def test_first_visit_to_every_chapter_is_under_budget(browser, site):  # noqa: F811
    html_root, base_url = site
    rows, over = [], []
    for name in CHAPTERS:
        loaded, files, figures = first_visit(browser, base_url, name)
        rows.append(f"{name:45s} {loaded / 1e3:8.0f} {files:6d} {figures / 1e3:12.0f}")
        if loaded > BUDGET:
            over.append(f"{name}: {loaded / 1e6:.2f} MB")
    header = f"{'chapter':45s} {'kB':>8s} {'files':>6s} {'all figs kB':>12s}"
    (html_root.parent / "page-weights.txt").write_text("\n".join([header, *rows]) + "\n")
    print("\n".join([header, *rows]))
    assert not over, f"first visits over {BUDGET / 1e6} MB: {over}"


def test_no_source_maps_are_deployed(site):  # noqa: F811
    html_root, _ = site
    maps = sorted(str(p.relative_to(html_root)) for p in html_root.rglob("*.map"))
    assert not maps, maps
    mentions = [
        str(p.relative_to(html_root))
        for p in html_root.rglob("*.js")
        if "sourceMappingURL=" in p.read_text(errors="replace")[-300:]
    ]
    assert not mentions, mentions


@pytest.mark.parametrize("name", toc_files())
def test_every_page_has_a_description_and_an_icon(site, name):  # noqa: F811
    from bs4 import BeautifulSoup

    html_root, _ = site
    soup = BeautifulSoup((html_root / f"{name}.html").read_text(), "html.parser")
    description = soup.select_one('meta[name="description"]')
    assert description and len(description["content"]) >= 50, name
    icon = soup.select_one('link[rel="icon"]')
    assert icon and (html_root / name).parent.joinpath(icon["href"]).resolve().is_file(), name
