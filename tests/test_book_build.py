"""The book builds with warnings as errors, and every page in the table of contents exists."""

from __future__ import annotations

import yaml

from notebooks import ROOT


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


def test_every_toc_entry_is_a_file():
    for name in toc_files():
        candidates = [ROOT / f"{name}{ext}" for ext in (".ipynb", ".md")]
        assert any(p.exists() for p in candidates), f"_toc.yml lists {name}, which does not exist"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert f"chapters/{notebook.stem}" in listed, f"{notebook.name} is missing from _toc.yml"


def test_book_builds_without_warnings_and_has_every_page(built_site):
    for name in toc_files():
        page = built_site / f"{name}.html"
        assert page.is_file(), f"{page} was not built"
        assert page.stat().st_size > 2000, f"{page} is suspiciously small"
