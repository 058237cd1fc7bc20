"""The student edition (bash scripts/build-site.sh --student) has every exercise, no solution."""

from __future__ import annotations

import importlib.util
import json
import re

import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, build_book

spec = importlib.util.spec_from_file_location("student", ROOT / "scripts" / "student_edition.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)


def count(pattern: str, html_root) -> dict[str, int]:
    found = {}
    for page in sorted(html_root.rglob("*.html")):
        n = len(re.findall(pattern, page.read_text()))
        if n:
            found[str(page.relative_to(html_root))] = n
    return found


def test_student_edition_keeps_exercises_and_leaves_out_solutions(built_site, tmp_path):
    config = tmp_path / "student.yml"
    assert student.main(["student_edition.py", str(config)]) == 0
    generated = yaml.safe_load(config.read_text())
    original = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert generated["repository"] == original["repository"]
    assert generated["launch_buttons"] == original["launch_buttons"]

    result = build_book(tmp_path / "site", ("--config", str(config)))
    log = result.stdout + result.stderr
    assert result.returncode == 0 and "WARNING" not in log, log[-4000:]
    html_root = tmp_path / "site" / "_build" / "html"

    assert "(student edition)" in (html_root / "intro.html").read_text()
    exercise = r'<div class="exercise[ "]'
    solution = r'<div class="solution[ "]'
    # The full site must have exercises and solutions, or the comparisons below are empty.
    assert count(exercise, built_site) and count(solution, built_site)
    assert count(exercise, html_root) == count(exercise, built_site)
    assert count(solution, html_root) == {}
    # Gated solutions (solution-start ... solution-end) go whole: no stray end marker,
    # and exactly the code cells inside solutions are gone.
    assert "solution_end" not in log
    for page in sorted(built_site.rglob("*.html")):
        relative = page.relative_to(built_site)
        full = BeautifulSoup(page.read_text(), "html.parser").select("div.cell")
        kept = BeautifulSoup((html_root / relative).read_text(), "html.parser").select("div.cell")
        outside_solutions = [c for c in full if not c.find_parent("div", class_="solution")]
        assert len(kept) == len(outside_solutions), relative

    # Each page's download button serves a source without solutions: open every download.
    for page in sorted(html_root.rglob("*.html")):
        relative = page.relative_to(html_root)
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for link in soup.select('a[href*="_sources/"]'):
            target = (page.parent / link["href"]).resolve()
            assert target.is_file(), f"{relative}: download {link['href']} is missing"
            original = ROOT / target.relative_to((html_root / "_sources").resolve())
            if target.suffix == ".ipynb":
                cells = json.loads(target.read_text())["cells"]
                texts = ["".join(c["source"]) for c in cells]
                assert not any("{solution" in t for t in texts), f"{target.name} has a solution"
                full = "".join(
                    "".join(c["source"]) for c in json.loads(original.read_text())["cells"]
                )
                assert "".join(texts).count("{exercise}") == full.count("{exercise}"), target.name
                # The downloaded code cells are exactly the ones the student page shows, plus
                # the cells the page never shows (remove-cell: the self-checks' glue).
                code = sum(
                    c["cell_type"] == "code"
                    and "remove-cell" not in c.get("metadata", {}).get("tags", [])
                    for c in cells
                )
                assert code == len(soup.select("div.cell")), f"{target.name}: {code} code cells"
            else:
                text = target.read_text()
                assert "{solution" not in text, f"{target.name} has a solution"
    # The instructors page (how to hand out solutions) is replaced by a note for students.
    note = "decides when and how you see them."
    assert note in student.STUDENT_INSTRUCTORS_PAGE
    assert note in (html_root / "instructors.html").read_text()
    assert note not in (built_site / "instructors.html").read_text()
    assert (
        html_root / "_sources" / "instructors.md"
    ).read_text() == student.STUDENT_INSTRUCTORS_PAGE
