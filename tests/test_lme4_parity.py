"""statsmodels' MixedLM reproduces R's lme4 on the course's sleepstudy models.

The lme4 numbers are read from data/lme4/sleepstudy-reference.json (made by
data/lme4/sleepstudy-reference.R; R is not needed here). The statsmodels fits come from
course.fit_sleepstudy_models, the same code the parity appendix uses.

Tolerances, and why. Both programs maximise the same (restricted) likelihood, but only
to the precision their optimisers reach. lme4's reference fits were refitted with a
second optimiser and the two agree to about 1e-8 relative in the variance parameters
(1e-6 in the flattest direction of the correlated model); statsmodels with BFGS at a
gradient tolerance of 1e-8 gets within 3e-7 of them (statsmodels' default tolerance, 1e-5,
leaves differences up to 1e-4). The log-likelihood is flat at its maximum, so it agrees to
about 1e-15, and the fixed effects (generalised least squares given the variances) to
about 1e-13.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import course
from notebooks import ROOT

MODELS = ["intercepts", "slopes", "correlated", "uncorrelated"]
METHODS = ["REML", "ML"]

LOGLIK_REL = 1e-10  # achieved: 4e-16
FIXED_EFFECTS_REL = 1e-10  # achieved: 5e-14
FIXED_SE_REL = 1e-6  # achieved: 1.1e-7 (the SEs depend on the variances)
VARIANCE_REL = 2e-6  # variances, residual variance, SDs; achieved: 3e-7
CORRELATION_ABS = 1e-6  # correlations; achieved: 1e-7
MODES_REL = 1e-6  # conditional modes and SDs (relative to the largest); achieved: 8e-8
LRT_CHISQ_ABS = 1e-8  # chi-square statistics; achieved: below 1e-12
AIC_REL = 1e-10  # AIC and BIC are affine in the log-likelihood; achieved: 0


@pytest.fixture(scope="module")
def reference():
    return course.load_lme4_reference("sleepstudy")


@pytest.fixture(scope="module")
def fits():
    data = course.load_sleepstudy()
    return {
        "REML": course.fit_sleepstudy_models(data, reml=True),
        "ML": course.fit_sleepstudy_models(data, reml=False),
    }


def relative_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


def test_reference_is_for_the_course_data_and_fully_converged(reference):
    import hashlib

    meta = reference["metadata"]
    assert meta["lme4_version"] == "1.1-31"
    assert (
        meta["data_md5"] == hashlib.md5((ROOT / "data" / "sleepstudy.csv").read_bytes()).hexdigest()
    )
    assert meta["optimizer"]["rhoend"] <= 1e-10
    assert set(reference["models"]) == set(MODELS)
    for model in MODELS:
        assert reference["models"][model]["lme4_formula"] == course.SLEEPSTUDY_MODELS[model]["lme4"]
        for method in METHODS:
            check = reference["models"][model][method]["optimizer_check"]
            # The reference is only as good as its optimum: two optimisers must agree.
            assert check["logLik_rel_diff"] < 1e-13
            assert check["theta_rel_diff"] < 2e-6
            assert check["fixed_effects_rel_diff"] < 1e-12


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", MODELS)
def test_log_likelihood_is_on_lme4s_scale(reference, fits, model, method):
    # Under REML both report the restricted log-likelihood with the same constants.
    expected = reference["models"][model][method]["logLik"]
    assert fits[method][model].llf == pytest.approx(expected, rel=LOGLIK_REL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", MODELS)
def test_fixed_effects_and_standard_errors(reference, fits, model, method):
    result = fits[method][model]
    expected = pd.DataFrame(reference["models"][model][method]["fixed_effects"]).set_index("term")
    assert list(expected.index) == ["(Intercept)", "Days"]
    assert list(result.fe_params.index) == ["Intercept", "Days"]
    assert relative_error(result.fe_params, expected["estimate"]) < FIXED_EFFECTS_REL
    assert relative_error(result.bse_fe, expected["std_error"]) < FIXED_SE_REL
    # statsmodels' "z" is lme4's "t value"; its interval is lme4's Wald interval.
    assert relative_error(result.tvalues.iloc[:2], expected["t_value"]) < FIXED_SE_REL
    interval = result.conf_int().iloc[:2]
    assert relative_error(interval[0], expected["wald_lower"]) < FIXED_SE_REL
    assert relative_error(interval[1], expected["wald_upper"]) < FIXED_SE_REL


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", MODELS)
def test_variance_components(reference, fits, model, method):
    ours = course.varcorr(fits[method][model]).set_index(["group", "term1", "term2"])
    theirs = course.lme4_varcorr(reference["models"][model][method]).set_index(
        ["group", "term1", "term2"]
    )
    assert sorted(ours.index) == sorted(theirs.index)
    theirs = theirs.loc[ours.index]
    is_covariance = ours.index.get_level_values("term2") != ""
    variances = ~is_covariance
    assert relative_error(ours.loc[variances, "vcov"], theirs.loc[variances, "vcov"]) < VARIANCE_REL
    assert (
        relative_error(ours.loc[variances, "sdcor"], theirs.loc[variances, "sdcor"]) < VARIANCE_REL
    )
    if is_covariance.any():
        assert (
            np.max(np.abs(ours.loc[is_covariance, "sdcor"] - theirs.loc[is_covariance, "sdcor"]))
            < CORRELATION_ABS
        )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", MODELS)
def test_conditional_modes_and_their_sds(reference, fits, model, method):
    result = fits[method][model]
    expected = pd.DataFrame(reference["models"][model][method]["conditional_modes"])
    modes = expected.pivot(index="subject", columns="term", values="mode")
    sds = expected.pivot(index="subject", columns="term", values="cond_sd")
    ours = pd.DataFrame(result.random_effects).T
    ours.columns = list(course.varcorr(result)["term1"].iloc[: ours.shape[1]])
    our_sds = pd.DataFrame(
        {subject: np.sqrt(np.diag(cov)) for subject, cov in result.random_effects_cov.items()}
    ).T
    our_sds.columns = ours.columns
    assert sorted(ours.index) == sorted(modes.index) and len(modes) == 18
    for term in modes.columns:
        scale = np.max(np.abs(modes[term]))
        assert np.max(np.abs(ours.loc[modes.index, term] - modes[term])) / scale < MODES_REL
        # lme4's condVar is statsmodels' random_effects_cov: Var(b | y) at the estimates.
        assert relative_error(our_sds.loc[sds.index, term], sds[term]) < MODES_REL


def test_aic_is_nan_under_reml_but_lme4_reports_the_reml_value(reference, fits):
    for model in MODELS:
        result = fits["REML"][model]
        expected = reference["models"][model]["REML"]
        assert np.isnan(result.aic) and np.isnan(result.bic)
        # lme4's REML "AIC" is the REML criterion plus twice the number of parameters.
        n_parameters = expected["n_parameters"]
        assert -2 * result.llf + 2 * n_parameters == pytest.approx(expected["AIC"], rel=AIC_REL)
        assert -2 * result.llf + np.log(180) * n_parameters == pytest.approx(
            expected["BIC"], rel=AIC_REL
        )


@pytest.mark.parametrize("model", MODELS)
def test_ml_aic_and_bic(reference, fits, model):
    result = fits["ML"][model]
    expected = reference["models"][model]["ML"]
    assert result.aic == pytest.approx(expected["AIC"], rel=AIC_REL)
    assert result.bic == pytest.approx(expected["BIC"], rel=AIC_REL)


def test_likelihood_ratio_tests(reference, fits):
    tests = reference["likelihood_ratio_tests"]["tests"]
    assert {(t["reduced"], t["full"]) for t in tests} >= {
        ("intercepts", "correlated"),
        ("uncorrelated", "correlated"),
        ("slopes", "correlated"),
    }
    for test in tests:
        reduced, full = fits["ML"][test["reduced"]], fits["ML"][test["full"]]
        chisq = 2 * (full.llf - reduced.llf)
        df = len(full.params) - len(reduced.params)
        assert df == test["df"]
        assert chisq == pytest.approx(test["chisq"], abs=LRT_CHISQ_ABS)
        assert stats.chi2.sf(chisq, df) == pytest.approx(test["p_value"], rel=1e-6)
        # anova()'s own refit, with lme4's default optimiser, is less precise.
        assert test["anova_chisq"] == pytest.approx(chisq, abs=1e-4)


def test_satterthwaite_p_values_follow_from_the_stored_df(reference, fits):
    # statsmodels has no Satterthwaite test, but given lmerTest's df the t test is reproduced.
    rows = pd.DataFrame(reference["small_sample_tests"]["correlated_REML_satterthwaite"])
    result = fits["REML"]["correlated"]
    assert relative_error(result.tvalues.iloc[:2], rows["t_value"]) < FIXED_SE_REL
    p_values = 2 * stats.t.sf(np.abs(rows["t_value"]), rows["df"])
    assert relative_error(p_values, rows["p_value"]) < 1e-8
    # With every subject measured on every day the df is the number of subjects minus one.
    assert rows["df"].to_numpy() == pytest.approx([17, 17], abs=1e-4)


def test_profile_interval_for_a_fixed_effect_by_refitting_with_an_offset(reference, fits):
    """course.profile_fixed_effect_interval (used by the parity appendix): fixing the Days
    coefficient at b means fitting Reaction - b * Days with the same random effects."""
    expected = {row["parameter"]: row for row in reference["profile_intervals"]["correlated"]}
    for term, lme4_name in [("Days", "Days"), ("Intercept", "(Intercept)")]:
        lower, upper = course.profile_fixed_effect_interval(fits["ML"]["correlated"], term)
        # lme4 interpolates its profile with splines, which promises about 1e-5; achieved: 2e-7.
        assert lower == pytest.approx(expected[lme4_name]["lower"], rel=1e-5)
        assert upper == pytest.approx(expected[lme4_name]["upper"], rel=1e-5)


def test_profile_fixed_effect_interval_refuses_a_reml_fit(fits):
    with pytest.raises(ValueError, match="ML"):
        course.profile_fixed_effect_interval(fits["REML"]["correlated"], "Days")
