"""Every page of the site, with its images, stays under 1.5 MB.

A page's weight is its HTML plus every image it shows (each file counted once). The
theme's stylesheets and scripts are the same for every page and cached after the first,
so they are reported but not counted. The table goes to <build>/page-weights.txt.
"""

from __future__ import annotations

import html.parser
import urllib.parse
from pathlib import Path

from test_book_build import toc_files

BUDGET = 1_500_000  # bytes


class _Assets(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.shared: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img" and attributes.get("src"):
            self.images.append(attributes["src"])
        elif tag == "script" and attributes.get("src"):
            self.shared.append(attributes["src"])
        elif tag == "link" and attributes.get("rel") == "stylesheet" and attributes.get("href"):
            self.shared.append(attributes["href"])


def local_files(page: Path, html_root: Path, addresses: list[str]) -> set[Path]:
    files = set()
    for address in addresses:
        parts = urllib.parse.urlsplit(address)
        if parts.scheme or parts.netloc:  # data: URIs are inside the HTML already
            continue
        target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
        assert target.is_relative_to(html_root.resolve()) and target.is_file(), (
            f"{page.relative_to(html_root)} refers to {address}, which is not in the site")
        files.add(target)
    return files


def page_weight(html_root: Path, name: str) -> tuple[int, int, int]:
    """(HTML bytes, image bytes, shared stylesheet and script bytes) of one page."""
    page = html_root / f"{name}.html"
    assets = _Assets()
    assets.feed(page.read_text())
    images = local_files(page, html_root, assets.images)
    shared = local_files(page, html_root, assets.shared)
    return (page.stat().st_size, sum(p.stat().st_size for p in images),
            sum(p.stat().st_size for p in shared))


def test_every_page_with_its_images_is_under_budget(built_site):
    rows, over = [], []
    for name in toc_files():
        html_bytes, image_bytes, shared_bytes = page_weight(built_site, name)
        total = html_bytes + image_bytes
        rows.append(f"{name:45s} {html_bytes / 1e3:8.0f} {image_bytes / 1e3:8.0f} "
                    f"{total / 1e3:8.0f} {shared_bytes / 1e3:10.0f}")
        if total >= BUDGET:
            over.append(f"{name}: {total / 1e6:.2f} MB")
    header = f"{'page':45s} {'HTML kB':>8s} {'img kB':>8s} {'total kB':>8s} {'shared kB':>10s}"
    (built_site.parent / "page-weights.txt").write_text("\n".join([header, *rows]) + "\n")
    assert not over, f"pages over {BUDGET / 1e6} MB with their images: {over}"
