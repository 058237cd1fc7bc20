"""The simulated crossed rating study: reproducible from its script, and the design it claims."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import course
import notebooks
from notebooks import ROOT

SCRIPT = ROOT / "scripts" / "simulate_crossed_ratings.py"
DATA_FILE = ROOT / "data" / "crossed-ratings.csv"
CHAPTER = ROOT / "chapters" / "09-crossed-random-effects.ipynb"


def load_script():
    spec = importlib.util.spec_from_file_location("simulate_crossed_ratings", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_reproduces_the_committed_file_byte_for_byte(tmp_path):
    target = tmp_path / "crossed-ratings.csv"
    subprocess.run([sys.executable, str(SCRIPT), str(target)], check=True, capture_output=True)
    assert target.read_bytes() == DATA_FILE.read_bytes()


@pytest.fixture(scope="module")
def ratings():
    return course.load_dataset("crossed-ratings")


def test_every_participant_rates_every_face_once(ratings):
    assert ratings.shape == (1200, 5)
    counts = ratings.groupby(["participant", "stimulus"]).size()
    assert len(counts) == 40 * 30 and (counts == 1).all()


def test_category_is_a_property_of_the_face(ratings):
    per_face = ratings.groupby("stimulus")["category"].nunique()
    assert (per_face == 1).all()
    faces = ratings.drop_duplicates("stimulus").set_index("stimulus")["category"]
    assert (faces.value_counts() == 15).all()
    expected_code = ratings["category"].map({"neutral": -0.5, "smiling": 0.5})
    assert np.array_equal(ratings["cond"].to_numpy(), expected_code.to_numpy())


def test_plain_summaries_match_an_independent_reading(ratings):
    # Read with the csv module, not pandas, so that the loader is checked too.
    import csv

    with DATA_FILE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ratings)
    assert sum(float(r["rating"]) for r in rows) == pytest.approx(ratings["rating"].sum(), abs=1e-6)
    assert [r["participant"] for r in rows[:3]] == ratings["participant"].head(3).tolist()


def test_chapter_states_the_true_values_the_script_used():
    """Chapter 9 compares its estimates with the truth; it must quote the script's truth."""
    stated = None
    for source in notebooks.code(CHAPTER):
        tree = ast.parse(source)
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "true_values":
                stated = ast.literal_eval(node.value)
    assert stated is not None, "chapter 9 no longer defines true_values"
    assert stated == load_script().TRUE_VALUES
