"""lme4/lmerTest reference values for chapter 9's small-sample test and appendix B's
unbalanced sleep study (data/lme4/crossed-small-sample-reference.* and
data/lme4/unbalanced-sleepstudy-reference.*).

What is checked, and against what:
- lmerTest's Satterthwaite df for the crossed intercepts model is the closed-form value for
  a between-face effect in this balanced design (30 faces - 2 = 28), its t value is
  statsmodels' z statistic, and its p-value is the t distribution's at the stored df.
- On the unbalanced data statsmodels reaches lme4's optimum (log-likelihood, estimates),
  lme4's standard errors equal sigma^2 (X' V^-1 X)^-1 computed independently here from
  statsmodels' variance estimates, and statsmodels' bse_fe differs from them by more than
  optimiser noise (it inverts the full Hessian, fixed-by-variance cross terms included).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course

CROSSED = course.load_lme4_reference("crossed-small-sample")
UNBALANCED = course.load_lme4_reference("unbalanced-sleepstudy")


@pytest.fixture(scope="module")
def ratings():
    return course.load_dataset("crossed-ratings").assign(everyone=1)


def test_crossed_intercepts_satterthwaite_df_is_faces_minus_two():
    cond = CROSSED["models"]["crossed_intercepts"]["satterthwaite"]["cond"]
    assert cond["df"] == pytest.approx(28, abs=1e-3)
    kenward_roger = CROSSED["models"]["crossed_intercepts"]["kenward_roger"]["cond"]
    assert kenward_roger["df"] == pytest.approx(28, abs=1e-3)


@pytest.mark.parametrize(
    "model", ["crossed_intercepts", "crossed_uncorrelated_slope", "crossed_correlated_slope"]
)
def test_crossed_p_values_are_t_tail_areas(model):
    for test in ("satterthwaite", "kenward_roger"):
        for row in CROSSED["models"][model][test].values():
            expected = 2 * stats.t.sf(abs(row["t_value"]), row["df"])
            assert row["p_value"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "model, components",
    [
        (
            "crossed_intercepts",
            {"participant": "0 + C(participant)", "stimulus": "0 + C(stimulus)"},
        ),
        (
            "crossed_uncorrelated_slope",
            {
                "participant": "0 + C(participant)",
                "stimulus": "0 + C(stimulus)",
                "participant_cond": "0 + C(participant):cond",
            },
        ),
    ],
)
def test_crossed_t_value_is_statsmodels_z(ratings, model, components):
    fit = smf.mixedlm(
        "rating ~ cond", ratings, groups="everyone", re_formula="0", vc_formula=components
    ).fit()
    reference = CROSSED["models"][model]
    assert fit.llf == pytest.approx(reference["logLik"], abs=1e-4)
    cond = reference["satterthwaite"]["cond"]
    assert fit.tvalues["cond"] == pytest.approx(cond["t_value"], rel=1e-4)
    # z's normal p-value is smaller than the t test's: the liberal direction.
    assert fit.pvalues["cond"] < cond["p_value"]


@pytest.fixture(scope="module")
def unbalanced():
    sleep = course.load_sleepstudy()
    last_day = sleep["Subject"].map({k: v for k, v in UNBALANCED["metadata"]["last_day"].items()})
    return sleep[sleep["Days"] <= last_day].reset_index(drop=True)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_unbalanced_standard_errors(unbalanced, method):
    reference = UNBALANCED["models"]["correlated"][method]
    assert len(unbalanced) == reference["nobs"] == 120
    model = smf.mixedlm("Reaction ~ Days", unbalanced, groups="Subject", re_formula="Days")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=method == "REML", method=["bfgs", "lbfgs"], gtol=1e-8)
    assert result.converged and not caught
    assert result.llf == pytest.approx(reference["logLik"], abs=1e-6)
    lme4_se = np.array([row["std_error"] for row in reference["fixed_effects"]])
    estimates = np.array([row["estimate"] for row in reference["fixed_effects"]])
    np.testing.assert_allclose(result.fe_params.to_numpy(), estimates, rtol=1e-6)
    ours = np.sqrt(np.diag(course.lme4_vcov(result).to_numpy()))
    np.testing.assert_allclose(ours, lme4_se, rtol=1e-5)
    # bse_fe is a different quantity here: it differs by far more than the 1e-5 above.
    relative = np.abs(result.bse_fe.to_numpy() - lme4_se) / lme4_se
    assert relative.max() > 1e-2


def test_bfgs_alone_stops_short_where_a_list_of_methods_reaches_lme4():
    reference = UNBALANCED["short_first_six_REML"]
    sleep = course.load_sleepstudy()
    first_six = sleep["Subject"].isin(sleep["Subject"].unique()[:6])
    short = sleep[~(first_six & (sleep["Days"] >= 7))]
    assert len(short) == reference["nobs"] == 162
    model = smf.mixedlm("Reaction ~ Days", short, groups="Subject", re_formula="Days")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = model.fit(method="bfgs")
        listed = model.fit(method=["bfgs", "nm"])
    assert not alone.converged and alone.llf < reference["logLik"] - 0.5
    assert listed.converged
    assert listed.llf == pytest.approx(reference["logLik"], abs=1e-4)


def test_factor_variance_component_is_lme4_subject_by_factor_not_double_bar():
    fits = UNBALANCED["half_factor_REML"]
    sleep = course.load_sleepstudy()
    sleep = sleep.assign(half=np.where(sleep["Days"] >= 5, "late", "early"))
    result = smf.mixedlm(
        "Reaction ~ half",
        sleep,
        groups="Subject",
        re_formula="1",
        vc_formula={"half": "0 + C(half)"},
    ).fit()
    assert result.llf == pytest.approx(fits["subject_by_half"]["logLik"], abs=1e-5)
    assert abs(result.llf - fits["double_bar"]["logLik"]) > 1
    assert fits["double_bar"]["n_covariance_parameters"] == 4
