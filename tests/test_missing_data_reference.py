"""Chapter 13 (missing days and dropout): its data, its fits against lme4, its simulation.

What is checked, and against what:
- data/sleepstudy-dropouts.csv is what the seeded MAR rule of scripts/simulate_missing_data.py
  removes from sleepstudy, and the rule is MAR: each dropout follows a day above the
  threshold, and no subject comes back.
- statsmodels' fits of the correlated model to the incomplete data (missing="drop") and to
  the complete cases reach lme4's optimum (data/lme4/missing-data-reference.json: R's
  log-likelihood, estimates); lme4's standard errors equal sigma^2 (X' V^-1 X)^-1 from
  statsmodels' variance estimates, and course.satterthwaite gives lmerTest's SE and df;
  bse_fe differs from them by more than optimiser noise.
- The stored simulation (data/simulations/missing-data.csv): a few replications re-run
  give the stored rows; the MCAR dropout share agrees with its closed form within Monte
  Carlo error; the full-data estimate is unbiased under every mechanism; the chapter's
  conclusions hold within Monte Carlo error (mixed model unbiased under MCAR and MAR,
  biased under MNAR; complete cases biased under MAR).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import simulate_missing_data as rule  # scripts/ is on pytest.ini's pythonpath
import statsmodels.formula.api as smf

import course
from conftest import ROOT

REFERENCE = course.load_lme4_reference("missing-data")


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def dropouts():
    return pd.read_csv(ROOT / "data" / "sleepstudy-dropouts.csv", dtype={"Subject": str})


@pytest.fixture(scope="module")
def incomplete(sleep, dropouts):
    gone = pd.MultiIndex.from_frame(sleep[["Subject", "Days"]]).isin(
        pd.MultiIndex.from_frame(dropouts)
    )
    return sleep.assign(Reaction=sleep["Reaction"].where(~gone))


def test_stored_dropouts_are_the_seeded_rule(dropouts):
    assert rule.example_dropouts().equals(dropouts)
    assert len(dropouts) == REFERENCE["metadata"]["n_dropped_rows"]


def test_example_dropout_is_monotone_and_follows_a_slow_day(sleep, dropouts):
    wide = sleep.pivot(index="Subject", columns="Days", values="Reaction")
    for subject, days in dropouts.groupby("Subject")["Days"]:
        first = days.min()
        assert first >= rule.FIRST_MISSING_DAY
        assert sorted(days) == list(range(first, 10)), "a dropout came back"
        # MAR: the last observed day, the one the rule looked at, was above the threshold.
        assert wide.loc[subject, first - 1] > rule.THRESHOLD_MS


def test_missing_drop_raises_without_and_drops_rows_with(incomplete):
    with pytest.raises(Exception, match="missing values"):
        smf.mixedlm("Reaction ~ Days", incomplete, groups="Subject", re_formula="Days")
    model = smf.mixedlm(
        "Reaction ~ Days", incomplete, groups="Subject", re_formula="Days", missing="drop"
    )
    assert model.nobs == incomplete["Reaction"].count() == 154
    assert model.n_groups == 18


def lme4_days(fit_reference):
    return next(row for row in fit_reference["fixed_effects"] if row["term"] == "Days")


@pytest.mark.parametrize(
    "name, method", [("incomplete", "REML"), ("incomplete", "ML"), ("complete_cases", "REML")]
)
def test_fits_reach_lme4(sleep, incomplete, name, method):
    reference = REFERENCE["models"][name][method]
    if name == "incomplete":
        data, options = incomplete, {"missing": "drop"}
    else:
        keep = sleep["Subject"].isin(REFERENCE["metadata"]["complete_subjects"])
        data, options = sleep[keep], {}
    model = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = model.fit(reml=method == "REML", method="powell")
    fit = course.fit_tight(model, reml=method == "REML", start_params=start.params_object)
    assert fit.converged
    assert fit.model.nobs == reference["nobs"]
    assert fit.llf == pytest.approx(reference["logLik"], abs=1e-6)
    estimates = [row["estimate"] for row in reference["fixed_effects"]]
    np.testing.assert_allclose(fit.fe_params.to_numpy(), estimates, rtol=1e-6)
    lme4_se = np.array([row["std_error"] for row in reference["fixed_effects"]])
    if method == "REML":
        np.testing.assert_allclose(np.sqrt(np.diag(course.lme4_vcov(fit))), lme4_se, rtol=1e-5)
        table = course.satterthwaite(fit)
        np.testing.assert_allclose(table["Std.Err."].to_numpy(), lme4_se, rtol=1e-5)
        assert table.loc["Days", "df"] == pytest.approx(
            lme4_days(reference)["satterthwaite_df"], rel=1e-4
        )
    if name == "incomplete":
        # bse_fe inverts the full Hessian: on incomplete data a different number.
        relative = np.abs(fit.bse_fe.to_numpy() - lme4_se) / lme4_se
        assert relative.max() > 1e-3


def test_default_fit_stalls_where_the_chapters_fit_reaches_lme4(incomplete):
    model = smf.mixedlm(
        "Reaction ~ Days", incomplete, groups="Subject", re_formula="Days", missing="drop"
    )
    lme4_loglik = REFERENCE["models"]["incomplete"]["REML"]["logLik"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        default = model.fit()
    assert caught and not default.converged and default.llf < lme4_loglik - 1
    fit, _, unpolished = rule.fit_mixed(model)
    assert not unpolished
    assert fit.llf == pytest.approx(lme4_loglik, abs=1e-6)


@pytest.fixture(scope="module")
def simulation():
    return pd.read_csv(ROOT / "data" / "simulations" / "missing-data.csv")


@pytest.fixture(scope="module")
def truth():
    return rule.true_model()


def test_simulation_has_every_replication(simulation):
    counts = simulation.groupby("mechanism")["replication"].agg(["count", "nunique"])
    assert (counts == rule.N_REPLICATIONS).all().all()


@pytest.mark.parametrize("mechanism, replication", [("MCAR", 7), ("MAR", 11), ("MNAR", 23)])
def test_replications_rerun_to_the_stored_rows(simulation, truth, mechanism, replication):
    stored = simulation.set_index(["mechanism", "replication"]).loc[(mechanism, replication)]
    fresh = rule.replicate(truth, mechanism, replication)
    for key, value in fresh.items():
        if key in ("mechanism", "replication"):
            continue
        if isinstance(value, bool):
            assert bool(stored[key]) == value, key
        else:
            assert float(stored[key]) == pytest.approx(value, rel=1e-6), key


def test_mcar_missing_share_is_its_closed_form(simulation):
    # A subject is gone by day t (t >= 5) with probability 1 - (1 - q)^(t - 4).
    q = rule.MCAR_PROBABILITY
    expected = sum(1 - (1 - q) ** (day - 4) for day in range(5, 10)) / 10
    shares = simulation.loc[simulation["mechanism"] == "MCAR", "missing_share"]
    assert abs(shares.mean() - expected) < 3 * shares.std() / np.sqrt(len(shares))


def bias_and_error(simulation, truth, mechanism, column):
    values = simulation.loc[simulation["mechanism"] == mechanism, column].dropna()
    return values.mean() - truth[1], values.std() / np.sqrt(len(values))


@pytest.mark.parametrize("mechanism", rule.MECHANISMS)
def test_full_data_estimate_is_unbiased(simulation, truth, mechanism):
    bias, error = bias_and_error(simulation, truth, mechanism, "full_data")
    assert abs(bias) < 3 * error


def paired_difference(simulation, mechanism, column):
    """Mean of (estimate - the same study's complete-data estimate), and its MC SE."""
    part = simulation[simulation["mechanism"] == mechanism]
    difference = (part[column] - part["full_data"]).dropna()
    return difference.mean(), difference.std() / np.sqrt(len(difference))


def test_the_chapters_conclusions_hold_within_monte_carlo_error(simulation):
    for mechanism in ("MCAR", "MAR"):
        shift, error = paired_difference(simulation, mechanism, "mixed_model")
        assert abs(shift) < 3 * error, mechanism
    shift, error = paired_difference(simulation, "MCAR", "complete_case")
    assert abs(shift) < 3 * error
    for column in ("complete_case", "day_means"):
        shift, error = paired_difference(simulation, "MAR", column)
        assert shift < -5 * error, column
    shift, error = paired_difference(simulation, "MNAR", "mixed_model")
    assert shift < -3 * error


def test_unpolished_fits_are_boundary_fits(simulation):
    unpolished = simulation[simulation["mixed_model_unpolished"]]
    assert len(unpolished) > 0
    assert (unpolished["mixed_model_correlation"].abs() > 0.999).all()
    assert simulation.loc[unpolished.index, "mixed_model_refitted"].all()


R_SIMULATION = course.load_lme4_reference("missing-data-simulation")


@pytest.mark.parametrize("mechanism", rule.MECHANISMS)
def test_an_independent_r_simulation_gives_the_same_biases(simulation, mechanism):
    """R's own random numbers and lme4's lmer(): the same averages within Monte Carlo error."""
    part = simulation[simulation["mechanism"] == mechanism]
    assert R_SIMULATION["metadata"]["true_slope"] == pytest.approx(rule.true_model()[1], rel=1e-6)
    for row in R_SIMULATION["mechanisms"][mechanism]:
        ours = part[row["column"]].dropna()
        error = np.hypot(ours.std() / np.sqrt(len(ours)), row["sd"] / np.sqrt(row["n"]))
        assert abs(ours.mean() - row["mean"]) < 3.5 * error, row["column"]
