"""The data loader refuses a data file that is not the published one, with a clear message."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import course
from conftest import ROOT

DATA = ROOT / "data"


@pytest.fixture
def lone_folder(tmp_path, monkeypatch):
    """A working folder with no data/ reachable except the one the test writes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course, "_MODULE_DIR", tmp_path / "chapters")
    monkeypatch.delenv("COURSE_BASE_URL", raising=False)
    (tmp_path / "data").mkdir()
    return tmp_path


def test_published_checksums_are_the_loaders():
    """data/README.md publishes a sha256 per file; course.py checks against the same."""
    text = (DATA / "README.md").read_text()
    published = dict(
        re.findall(r"^## (\S+\.csv)\n.*?\| sha256 \| `([0-9a-f]{64})` \|", text, re.M | re.S)
    )
    assert published == {spec.filename: spec.sha256 for spec in course.DATASETS.values()}


def test_duplicated_row_is_named(lone_folder):
    lines = (DATA / "sleepstudy.csv").read_text().splitlines(keepends=True)
    # Row 12 (subject 309, day 1) written twice in place of row 13: still 180 rows.
    lines[13] = lines[12]
    (lone_folder / "data" / "sleepstudy.csv").write_text("".join(lines))
    with pytest.raises(
        course.DataFileError,
        match=r"2 rows that share their Subject and Days "
        r"\(the first: Subject 309, Days 1\)",
    ):
        course.load_sleepstudy()


def test_changed_value_fails_the_checksum(lone_folder):
    text = (DATA / "sleepstudy.csv").read_text()
    first_value = text.splitlines()[1].split(",")[0]
    changed = text.replace(first_value, str(float(first_value) + 10), 1)
    (lone_folder / "data" / "sleepstudy.csv").write_text(changed)
    with pytest.raises(
        course.DataFileError,
        match=r"sleepstudy.csv is not the course's sleepstudy.csv: "
        r"its sha256 is [0-9a-f]{64}, the published one",
    ):
        course.load_sleepstudy()


def test_unchanged_copy_loads(lone_folder):
    (lone_folder / "data" / "sleepstudy.csv").write_bytes((DATA / "sleepstudy.csv").read_bytes())
    assert course.load_sleepstudy().equals(
        pd.read_csv(DATA / "sleepstudy.csv").astype({"Subject": str})
    )
