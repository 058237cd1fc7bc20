"""The shipped data are lme4's, byte for byte as documented, and bad files fail loudly."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest

import course
from notebooks import ROOT

DATA = ROOT / "data"


def documented_checksums() -> dict[str, str]:
    text = (DATA / "README.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    found = {}
    for section in sections:
        name = section.splitlines()[0].strip()
        match = re.search(r"\| sha256 \| `([0-9a-f]{64})` \|", section)
        if match:
            found[name] = match.group(1)
    return found


def test_every_data_file_is_documented_with_a_checksum():
    documented = documented_checksums()
    shipped = {p.name for p in DATA.glob("*.csv")}
    assert shipped == set(documented), "data/README.md must document every CSV in data/"
    for name, digest in documented.items():
        actual = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} does not match the checksum in data/README.md"


def test_every_shipped_file_has_a_loader_spec():
    specs = {spec.filename for spec in course.DATASETS.values()}
    assert {p.name for p in DATA.glob("*.csv")} == specs


def test_sleepstudy_shape_and_values():
    sleep = course.load_sleepstudy()
    assert sleep.shape == (180, 3)
    assert list(sleep.columns) == ["Reaction", "Days", "Subject"]
    assert sleep["Subject"].nunique() == 18
    assert (sleep.groupby("Subject")["Days"].apply(sorted).map(tuple) == tuple(range(10))).all()
    # First and last rows as printed by lme4's sleepstudy.
    assert sleep.iloc[0].tolist() == [249.56, 0, "308"]
    assert sleep.iloc[3].tolist() == [321.4398, 3, "308"]
    assert sleep.iloc[-1].tolist() == [364.1236, 9, "372"]
    # Sum as computed by R from lme4's own copy: sprintf("%.4f", sum(sleepstudy$Reaction)).
    assert sleep["Reaction"].sum() == pytest.approx(53731.4205, abs=1e-4)


def test_cbpp_shape():
    cbpp = course.load_dataset("cbpp")
    assert cbpp.shape == (56, 4)
    assert cbpp["herd"].nunique() == 15
    # Totals as computed by R from lme4's copy: sum(cbpp$incidence), sum(cbpp$size).
    assert int(cbpp["incidence"].sum()) == 99
    assert int(cbpp["size"].sum()) == 842


@pytest.fixture
def lone_folder(tmp_path, monkeypatch):
    """A working folder with no data/ reachable: the loader must not find lme4's file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course, "_MODULE_DIR", tmp_path / "chapters")
    monkeypatch.delenv("COURSE_BASE_URL", raising=False)
    return tmp_path


def write_sleepstudy(folder, frame):
    (folder / "data").mkdir(exist_ok=True)
    frame.to_csv(folder / "data" / "sleepstudy.csv", index=False)


def test_missing_file_says_where_it_looked(lone_folder):
    with pytest.raises(course.DataFileError, match="Cannot find the data file 'sleepstudy.csv'"):
        course.load_sleepstudy()


def test_wrong_column_is_named(lone_folder):
    good = pd.read_csv(DATA / "sleepstudy.csv")
    write_sleepstudy(lone_folder, good.rename(columns={"Reaction": "RT"}))
    with pytest.raises(course.DataFileError, match=r"lacks the column\(s\) \['Reaction'\]"):
        course.load_sleepstudy()


def test_truncated_file_is_caught(lone_folder):
    good = pd.read_csv(DATA / "sleepstudy.csv")
    write_sleepstudy(lone_folder, good.head(100))
    with pytest.raises(course.DataFileError, match="has 100 rows; expected 180"):
        course.load_sleepstudy()


def test_non_numeric_value_is_caught(lone_folder):
    bad = pd.read_csv(DATA / "sleepstudy.csv").astype({"Reaction": object})
    bad.loc[5, "Reaction"] = "n/a ms"
    write_sleepstudy(lone_folder, bad)
    with pytest.raises(course.DataFileError, match="'Reaction' should be numeric"):
        course.load_sleepstudy()


def test_missing_values_are_caught(lone_folder):
    bad = pd.read_csv(DATA / "sleepstudy.csv")
    bad.loc[7, "Days"] = None
    write_sleepstudy(lone_folder, bad)
    with pytest.raises(course.DataFileError, match=r"missing values in column\(s\) \['Days'\]"):
        course.load_sleepstudy()


def test_fractional_days_are_caught(lone_folder):
    bad = pd.read_csv(DATA / "sleepstudy.csv")
    bad["Days"] = bad["Days"] + 0.5
    write_sleepstudy(lone_folder, bad)
    with pytest.raises(course.DataFileError, match="'Days' should hold whole numbers"):
        course.load_sleepstudy()


def test_not_a_csv_is_caught(lone_folder):
    (lone_folder / "data").mkdir()
    (lone_folder / "data" / "sleepstudy.csv").write_bytes(b"")
    with pytest.raises(course.DataFileError, match="not a readable CSV"):
        course.load_sleepstudy()


def test_every_lme4_reference_file_loads():
    for path in sorted((DATA / "lme4").glob("*-reference.json")):
        reference = course.load_lme4_reference(path.name.removesuffix("-reference.json"))
        assert isinstance(reference, dict) and reference, f"{path.name} is empty"


def test_damaged_lme4_reference_is_caught(lone_folder):
    (lone_folder / "data" / "lme4").mkdir(parents=True)
    (lone_folder / "data" / "lme4" / "sleepstudy-reference.json").write_text('{"models": ')
    with pytest.raises(course.DataFileError, match="is not valid JSON"):
        course.load_lme4_reference("sleepstudy")
