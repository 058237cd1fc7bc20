"""Chapter 11's power for the crossed design: stored rows, the chapter's code, and lme4.

data/simulations/crossed-power.csv is written by scripts/simulate_crossed_power.py
(statsmodels, numpy's generator); data/lme4/crossed-power-reference.json by
data/lme4/crossed-power-reference.R (lme4 and lmerTest, R's generator). The two simulate
the same designs from the same model with different random numbers, so their powers and
shares of boundary fits must agree within Monte Carlo error. The chapter prints the
script's functions; the test checks that they are the same code, and re-runs a few
replications against the stored rows.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json

import numpy as np
import pandas as pd
import pytest

import notebooks
from notebooks import ROOT

SCRIPT = ROOT / "scripts" / "simulate_crossed_power.py"
STORED = ROOT / "data" / "simulations" / "crossed-power.csv"
REFERENCE = ROOT / "data" / "lme4" / "crossed-power-reference.json"
CHAPTER = "11-power-by-simulation"
# Differences larger than this many standard errors (of the difference of two independent
# Monte Carlo estimates) fail. Fixed before the comparison was made: with 15 comparisons,
# about one in 25 correct simulations would fail one of them by chance.
LIMIT = 3.0


@pytest.fixture(scope="module")
def script():
    # scripts/ is on pytest's pythonpath (pytest.ini), so the script imports as a module.
    return importlib.import_module("simulate_crossed_power")


@pytest.fixture(scope="module")
def stored():
    return pd.read_csv(STORED).fillna({"fit": "", "boundary": ""})


@pytest.fixture(scope="module")
def reference():
    return json.loads(REFERENCE.read_text())


def chapter_definitions():
    """Function sources and literal constants defined in the chapter's code cells."""
    functions, constants = {}, {}
    for source in notebooks.code(notebooks.load(CHAPTER)):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # IPython magics
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions[node.name] = ast.get_source_segment(source, node)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.isupper():
                    try:
                        constants[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
    return functions, constants


def test_the_chapter_prints_the_scripts_code(script):
    functions, constants = chapter_definitions()
    for name in ["simulate_crossed_study", "fit_crossed_model", "analyse_crossed_study"]:
        assert functions.get(name) == inspect.getsource(getattr(script, name)).rstrip("\n"), (
            f"chapter 11's {name} is not scripts/simulate_crossed_power.py's"
        )
    assert constants["TRUE_VALUES"] == script.TRUE_VALUES
    assert constants["VARIANCE_COMPONENTS"] == script.VARIANCE_COMPONENTS
    assert constants["BOUNDARY_RELATIVE_SD"] == script.BOUNDARY_RELATIVE_SD
    assert constants["CROSSED_SEED"] == script.SEED


def test_stored_file_holds_every_replication_of_every_design(script, stored):
    assert list(stored.columns) == script.COLUMNS
    for design, (participants, faces, effect, replications) in enumerate(script.DESIGNS):
        rows = stored[stored["design"] == design]
        assert rows["replication"].tolist() == list(range(replications))
        assert (rows["participants"] == participants).all()
        assert (rows["faces"] == faces).all()
        assert (rows["effect"] == effect).all()
    assert set(stored["fit"]) <= {
        "Nelder-Mead, then tight",
        "tight",
        "Nelder-Mead",
        "Powell",
        "failed",
    }
    # A failed fit has no test; every other row has both.
    failed = stored["fit"] == "failed"
    assert stored.loc[failed, ["p_z", "p_satterthwaite"]].isna().all().all()
    assert stored.loc[~failed, ["p_z", "p_satterthwaite"]].notna().all().all()


def rerun_choices(stored):
    """Two replications of every design, the first boundary fit, and the first study of
    each fallback fit."""
    chosen = {
        (design, replication) for design in stored["design"].unique() for replication in (2, 3)
    }
    conditions = [stored["boundary"] != ""]
    conditions += [stored["fit"] == how for how in ["tight", "Nelder-Mead", "Powell", "failed"]]
    for condition in conditions:
        if condition.any():
            first = stored[condition].iloc[0]
            chosen.add((int(first["design"]), int(first["replication"])))
    return sorted(chosen)


def test_replications_rerun_to_their_stored_rows(script, stored):
    for design, replication in rerun_choices(stored):
        row = script.replicate(design, replication)
        saved = stored[(stored["design"] == design) & (stored["replication"] == replication)]
        saved = saved.iloc[0]
        assert row["fit"] == saved["fit"] and row["boundary"] == saved["boundary"], (
            design,
            replication,
        )
        for key in ["estimate", "se", "p_z", "df_satterthwaite", "p_satterthwaite"]:
            assert row[key] == pytest.approx(saved[key], rel=1e-4, nan_ok=True), (
                design,
                replication,
                key,
            )


def test_r_simulated_the_same_model_and_designs(script, reference):
    assert reference["truth"] == pytest.approx(script.TRUE_VALUES)
    assert reference["boundary_relative_sd"] == script.BOUNDARY_RELATIVE_SD
    assert reference["formula"] == "rating ~ cond + (1 | stimulus) + (1 + cond || participant)"
    # The same designs; R ran more studies of each (its fits are faster).
    designs = [(d["participants"], d["faces"], d["effect"]) for d in reference["designs"]]
    assert designs == [tuple(d[:3]) for d in script.DESIGNS]


def share_and_variance(count, n):
    share = count / n
    return share, share * (1 - share) / n


@pytest.mark.parametrize(
    "python_column, r_key",
    [
        ("p_satterthwaite", "significant_satterthwaite"),
        ("p_z", "significant_z"),
        ("boundary", "boundary"),
    ],
)
def test_python_and_lme4_agree_within_monte_carlo_error(stored, reference, python_column, r_key):
    for number, design in enumerate(reference["designs"]):
        rows = stored[stored["design"] == number]
        if python_column == "boundary":
            count = int((rows["boundary"] != "").sum())
        else:
            # A failed fit has no p-value and counts as not significant, in both scripts.
            count = int((rows[python_column].fillna(1.0) < 0.05).sum())
        python, python_variance = share_and_variance(count, len(rows))
        lme4, lme4_variance = share_and_variance(design[r_key], design["replications"])
        se = np.sqrt(python_variance + lme4_variance)
        # Two shares of 0 (or of 1) agree; the plug-in SE is 0 there.
        assert abs(python - lme4) <= LIMIT * se, (
            f"design {number}: {python_column} share {python:.3f} (statsmodels) against "
            f"{lme4:.3f} (lme4), {abs(python - lme4) / se:.1f} SE apart"
        )


def test_satterthwaite_test_holds_its_level_without_an_effect(stored, reference):
    """Design 4 has no effect: lmerTest's test rejects about 5% in both simulations."""
    rows = stored[stored["effect"] == 0]
    for name, rate, n in [
        ("statsmodels", (rows["p_satterthwaite"].fillna(1.0) < 0.05).mean(), len(rows)),
        (
            "lme4",
            reference["designs"][4]["significant_satterthwaite"]
            / reference["designs"][4]["replications"],
            reference["designs"][4]["replications"],
        ),
    ]:
        assert abs(rate - 0.05) < LIMIT * np.sqrt(0.05 * 0.95 / n), (name, rate)


def test_every_estimate_is_the_difference_of_the_category_means(script, stored):
    """In a balanced design with -0.5/+0.5 coding the REML (GLS) estimate of the smiling
    effect is the mean rating of the smiling faces minus that of the neutral ones, whatever
    the variances: an exact check of every stored row (a fit whose polish went wrong once
    returned 0 here)."""
    for row in stored.itertuples():
        participants, faces, effect, _ = script.DESIGNS[row.design]
        rng = np.random.default_rng([script.SEED, row.design, row.replication])
        data = script.simulate_crossed_study(participants, faces, effect, rng)
        means = data.groupby("cond")["rating"].mean()
        assert row.fit != "failed", (row.design, row.replication)
        assert row.estimate == pytest.approx(means[0.5] - means[-0.5], rel=1e-8, abs=1e-8), (
            row.design,
            row.replication,
        )
