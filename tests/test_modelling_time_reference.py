"""Chapter 12 (modelling time) agrees with lme4, and its stored outputs show those numbers.

The reference values were computed by data/lme4/modelling-time-reference.R. The test refits
the chapter's models with ``course.fit_tight`` (the fit the chapter uses) and compares.

Tolerances. ``fit_tight`` solves the score equations to about twelve digits; lme4's tight
BOBYQA fits are the less precise side (data/lme4/README.md: its relative covariance
parameters agree between two optimisers to 1e-6 to 1e-8, the log-likelihood to 1e-16
relative). So variances, covariances, residual variances and standard errors are compared
to a relative 1e-5, correlations to 1e-5 absolute, fixed effects to a relative 1e-7 (they
are generalised least squares given the variances, so their error is smaller still), and
log-likelihoods and likelihood-ratio statistics to 1e-6 absolute (a log-likelihood is flat
at its maximum: an error of 1e-6 in a parameter moves it by about 1e-12). The largest
differences found over all the models (2e-13 in a log-likelihood, 1e-9 relative in a fixed
effect, 1.5e-7 in a standard error, 3.4e-7 in a variance, 1.7e-7 in a correlation) are far
inside these bounds.

Besides lme4, two facts are checked from their closed forms: shifting the origin leaves
the correlated model's log-likelihood, slope and slope variance unchanged and moves the
intercept variance to tau00 + 2c tau01 + c^2 tau11; and in this balanced design the
piecewise model's fixed effects equal those of the days 2-9 analysis.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course
import notebooks

REFERENCE = course.load_lme4_reference("modelling-time")
RELATIVE = 1e-5
FIXED_RELATIVE = 1e-7
LOGLIK = 1e-6

SLEEP = course.load_sleepstudy().assign(
    training=lambda d: (d["Days"] <= 1).astype(float),
    nights=lambda d: np.maximum(d["Days"] - 2, 0),
)


def shifted(origin):
    return SLEEP.assign(t=SLEEP["Days"] - origin)


@functools.cache
def correlated(origin):
    model = smf.mixedlm("Reaction ~ t", shifted(origin), groups="Subject", re_formula="t")
    return course.fit_tight(model)


@functools.cache
def uncorrelated(origin):
    """The chapter's fit: ``fit_tight`` from statsmodels' default start."""
    model = smf.mixedlm(
        "Reaction ~ t", shifted(origin), groups="Subject", re_formula="1", vc_formula={"t": "0 + t"}
    )
    return course.fit_tight(model)


def fit(formula, reml=True, **random_part):
    return course.fit_tight(smf.mixedlm(formula, SLEEP, groups="Subject", **random_part), reml=reml)


def gls_standard_errors(result):
    """lme4's standard errors: sqrt(diag((sum_i X_i' V_i^-1 X_i)^-1)) at the estimated
    covariance parameters, V_i = Z_i D Z_i' + sigma^2 I (models without variance components)."""
    model = result.model
    assert not model.k_vc
    cov_re = result.cov_re.to_numpy()
    information = np.zeros((model.k_fe, model.k_fe))
    for rows in model.row_indices.values():
        x, z = model.exog[rows], model.exog_re[rows]
        v = z @ cov_re @ z.T + result.scale * np.eye(len(rows))
        information += x.T @ np.linalg.solve(v, x)
    return np.sqrt(np.diag(np.linalg.inv(information)))


def assert_agrees(result, reference, statsmodels_se=True):
    """Log-likelihood, fixed effects and their SEs, and every (co)variance.

    statsmodels' ``bse_fe`` inverts the Hessian of all parameters; it equals lme4's SE only
    where the fixed effects and the covariance parameters are orthogonal (a balanced design
    whose random-effects columns lie in the span of the fixed-effects columns). Otherwise
    (``statsmodels_se=False``) lme4's SE is checked against the GLS formula instead.
    """
    assert result.llf == pytest.approx(reference["logLik"], abs=LOGLIK)
    assert reference["nobs"] == result.nobs == 180
    fixed = pd.DataFrame(reference["fixed_effects"])
    assert len(fixed) == len(result.fe_params)
    np.testing.assert_allclose(result.fe_params, fixed["estimate"], rtol=FIXED_RELATIVE)
    if statsmodels_se:
        np.testing.assert_allclose(result.bse_fe, fixed["std_error"], rtol=RELATIVE)
    else:
        np.testing.assert_allclose(gls_standard_errors(result), fixed["std_error"], rtol=RELATIVE)
        assert not np.allclose(result.bse_fe, fixed["std_error"], rtol=1e-4)
    ours = course.varcorr(result)
    theirs = course.lme4_varcorr(reference)
    merged = ours.merge(theirs, on=["group", "term1", "term2"], suffixes=("", "_lme4"))
    assert len(merged) == len(ours) == len(theirs), (ours, theirs)
    variances = merged["term2"] == ""
    np.testing.assert_allclose(
        merged.loc[variances, "vcov"], merged.loc[variances, "vcov_lme4"], rtol=RELATIVE
    )
    covariances = ~variances
    np.testing.assert_allclose(
        merged.loc[covariances, "sdcor"], merged.loc[covariances, "sdcor_lme4"], atol=RELATIVE
    )
    np.testing.assert_allclose(
        merged.loc[covariances, "vcov"], merged.loc[covariances, "vcov_lme4"], rtol=RELATIVE
    )


# ---- Origin ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [0.0, 2.0, 4.5])
def test_both_models_agree_with_lme4_at_each_origin(origin):
    assert_agrees(correlated(origin), REFERENCE["origin"]["correlated_REML"][f"origin_{origin:g}"])
    assert_agrees(
        uncorrelated(origin), REFERENCE["origin"]["uncorrelated_REML"][f"origin_{origin:g}"]
    )


def test_a_shift_of_origin_only_reexpresses_the_correlated_model():
    day0 = correlated(0.0)
    tau = day0.cov_re.to_numpy()
    for origin in (2.0, 4.5):
        moved = correlated(origin)
        assert moved.llf == pytest.approx(day0.llf, abs=1e-9)
        assert moved.fe_params["t"] == pytest.approx(day0.fe_params["t"], rel=1e-10)
        assert moved.fe_params["Intercept"] == pytest.approx(
            day0.fe_params["Intercept"] + origin * day0.fe_params["t"], rel=1e-10
        )
        expected = np.array(
            [
                [
                    tau[0, 0] + 2 * origin * tau[0, 1] + origin**2 * tau[1, 1],
                    tau[0, 1] + origin * tau[1, 1],
                ],
                [tau[0, 1] + origin * tau[1, 1], tau[1, 1]],
            ]
        )
        np.testing.assert_allclose(moved.cov_re.to_numpy(), expected, rtol=1e-7)
        assert moved.scale == pytest.approx(day0.scale, rel=1e-9)


def test_uncorrelated_model_on_the_grid_of_origins():
    grid = {row["origin"]: row for row in REFERENCE["origin"]["uncorrelated_REML_grid"]}
    # lme4's whole grid, origins -1 to 10 half a day apart (the chapter's figure uses every
    # second one). From the default start, plain BFGS stops at a saddle for origins 3 to 4;
    # fit_tight must detect that and reach lme4's optimum everywhere.
    for origin in np.arange(-1.0, 10.25, 0.5):
        result, reference = uncorrelated(float(origin)), grid[float(origin)]
        assert result.llf == pytest.approx(reference["logLik"], abs=LOGLIK), origin
        assert result.cov_re.iloc[0, 0] == pytest.approx(
            reference["intercept_variance"], rel=RELATIVE
        )
        assert result.vcomp[0] == pytest.approx(reference["slope_variance"], rel=RELATIVE)


def test_the_two_models_coincide_where_the_correlation_is_zero():
    tau = correlated(0.0).cov_re.to_numpy()
    origin = -tau[0, 1] / tau[1, 1]
    assert origin == pytest.approx(REFERENCE["origin"]["zero_correlation_origin"], abs=1e-5)
    assert uncorrelated(origin).llf == pytest.approx(correlated(0.0).llf, abs=LOGLIK)
    last = REFERENCE["origin"]["uncorrelated_REML_grid"][-1]
    assert last["logLik"] == pytest.approx(correlated(0.0).llf, abs=LOGLIK)


def test_weeks_change_the_unit_not_the_model():
    weeks = SLEEP.assign(t=SLEEP["Days"] / 7)
    both = {
        "correlated": course.fit_tight(
            smf.mixedlm("Reaction ~ t", weeks, groups="Subject", re_formula="t")
        ),
        "uncorrelated": course.fit_tight(
            smf.mixedlm(
                "Reaction ~ t", weeks, groups="Subject", re_formula="1", vc_formula={"t": "0 + t"}
            )
        ),
    }
    for name, result in both.items():
        assert_agrees(result, REFERENCE["origin"]["weeks_REML"][name])
    # The REML log-likelihood moves by log 7 (the fixed-effects design's determinant).
    assert both["correlated"].llf - correlated(0.0).llf == pytest.approx(np.log(7), abs=LOGLIK)
    assert both["uncorrelated"].llf - uncorrelated(0.0).llf == pytest.approx(np.log(7), abs=LOGLIK)


# ---- Piecewise ------------------------------------------------------------------------


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_piecewise_model_agrees_with_lme4(reml):
    label = "REML" if reml else "ML"
    assert_agrees(
        fit("Reaction ~ training + nights", reml, re_formula="nights"),
        REFERENCE["piecewise"][label],
    )
    assert_agrees(
        fit("Reaction ~ nights", reml, re_formula="nights"),
        REFERENCE["piecewise"][f"flat_to_baseline_{label}"],
    )


def test_piecewise_fixed_effects_equal_the_days_two_to_nine_analysis():
    restricted = course.load_lme4_reference("restricted-days")["models"]["restricted_correlated"]
    piecewise = fit("Reaction ~ training + nights", re_formula="nights")
    estimates = [row["estimate"] for row in restricted["fixed_effects"]]
    assert piecewise.fe_params["Intercept"] == pytest.approx(estimates[0], rel=1e-9)
    assert piecewise.fe_params["nights"] == pytest.approx(estimates[1], rel=1e-9)
    # The same from the daily means by ordinary least squares (GLS = OLS here).
    means = SLEEP.groupby("Days")["Reaction"].mean()
    slope, intercept = np.polyfit(np.arange(8), means.loc[2:].to_numpy(), 1)
    assert piecewise.fe_params["nights"] == pytest.approx(slope, rel=1e-9)
    assert piecewise.fe_params["Intercept"] == pytest.approx(intercept, rel=1e-9)


def test_relaxed_piecewise_model_agrees_with_lme4():
    # (training + nights | Subject): its random-effects columns are the fixed-effects
    # columns, so bse_fe equals lme4's SE.
    relaxed = fit("Reaction ~ training + nights", re_formula="~training + nights")
    assert_agrees(relaxed, REFERENCE["piecewise"]["relaxed_REML"])
    shared = fit("Reaction ~ training + nights", re_formula="nights")
    test = REFERENCE["piecewise"]["shared_vs_relaxed_REML"]
    statistic = 2 * (relaxed.llf - shared.llf)
    assert statistic == pytest.approx(test["chisq"], abs=LOGLIK)
    assert test["df"] == 3
    assert stats.chi2.sf(statistic, 3) == pytest.approx(test["p_value"], rel=1e-5)
    # Relaxing the shared intercept gives back the days 2-9 analysis's standard errors.
    restricted = course.load_lme4_reference("restricted-days")["models"]["restricted_correlated"]
    errors = [row["std_error"] for row in restricted["fixed_effects"]]
    np.testing.assert_allclose(relaxed.bse_fe[["Intercept", "nights"]], errors, rtol=RELATIVE)


# ---- Days as a factor -----------------------------------------------------------------


DAY_MEANS_RANDOM_PARTS = {
    "intercepts_REML": {},
    "intercepts_slopes_REML": {"re_formula": "Days"},
    "intercepts_nights_REML": {"re_formula": "nights"},
}


@pytest.mark.parametrize("name", list(DAY_MEANS_RANDOM_PARTS))
def test_daily_means_agree_with_lme4(name):
    random_part = DAY_MEANS_RANDOM_PARTS[name]
    result = fit("Reaction ~ 0 + C(Days)", **random_part)
    assert_agrees(result, REFERENCE["day_means"][name])
    np.testing.assert_allclose(
        result.fe_params, SLEEP.groupby("Days")["Reaction"].mean(), rtol=1e-10
    )


ML_MODELS = {
    "linear_intercepts": ("Reaction ~ Days", {}),
    "factor_intercepts": ("Reaction ~ C(Days)", {}),
    "linear_slopes": ("Reaction ~ Days", {"re_formula": "Days"}),
    "factor_slopes": ("Reaction ~ C(Days)", {"re_formula": "Days"}),
    "piecewise_slopes": ("Reaction ~ training + nights", {"re_formula": "Days"}),
}


@functools.cache
def ml_fit(name):
    formula, random_part = ML_MODELS[name]
    return fit(formula, reml=False, **random_part)


@pytest.mark.parametrize("name", list(ML_MODELS))
def test_ml_fits_agree_with_lme4(name):
    # The piecewise fixed effects with a random slope on Days: Days is not in the span of
    # (1, training, nights), so bse_fe differs from lme4's SE (by about 0.1%).
    orthogonal = name != "piecewise_slopes"
    assert_agrees(ml_fit(name), REFERENCE["ml_fits"][name], statsmodels_se=orthogonal)


@pytest.mark.parametrize("name", list(REFERENCE["likelihood_ratio_tests"]))
def test_likelihood_ratio_tests_agree_with_lme4(name):
    test = REFERENCE["likelihood_ratio_tests"][name]
    small, large = ml_fit(test["reduced"]), ml_fit(test["full"])
    statistic = 2 * (large.llf - small.llf)
    df = len(large.fe_params) - len(small.fe_params)
    assert statistic == pytest.approx(test["chisq"], abs=LOGLIK)
    assert df == test["df"]
    assert stats.chi2.sf(statistic, df) == pytest.approx(test["p_value"], rel=1e-5)


def test_change_from_baseline_to_day_nine_agrees_with_lme4():
    reference = REFERENCE["day9_minus_day2"]
    for name, random_part in [("factor_days", "Days"), ("factor_nights", "nights")]:
        result = fit("Reaction ~ 0 + C(Days)", re_formula=random_part)
        contrast = np.zeros(10)
        contrast[9], contrast[2] = 1.0, -1.0
        covariance = result.cov_params().iloc[:10, :10].to_numpy()
        assert contrast @ result.fe_params.to_numpy() == pytest.approx(
            reference[name]["estimate"], rel=FIXED_RELATIVE
        )
        assert np.sqrt(contrast @ covariance @ contrast) == pytest.approx(
            reference[name]["std_error"], rel=RELATIVE
        )
    piecewise = fit("Reaction ~ training + nights", re_formula="nights")
    assert 7 * piecewise.fe_params["nights"] == pytest.approx(
        reference["piecewise_nights"]["estimate"], rel=FIXED_RELATIVE
    )
    assert 7 * piecewise.bse_fe["nights"] == pytest.approx(
        reference["piecewise_nights"]["std_error"], rel=RELATIVE
    )
    # Without a model: the subjects' own differences, each subject measured on both days.
    wide = SLEEP.pivot(index="Subject", columns="Days", values="Reaction")
    differences = wide[9] - wide[2]
    assert differences.mean() == pytest.approx(reference["paired"]["estimate"], rel=1e-12)
    assert differences.std(ddof=1) / np.sqrt(len(differences)) == pytest.approx(
        reference["paired"]["std_error"], rel=1e-12
    )


# ---- What the chapter shows -----------------------------------------------------------


def cell_text(cell_id):
    (cell,) = [c for c in notebooks.cells("12-modelling-time") if c.get("id") == cell_id]
    return "\n".join(notebooks.output_texts(cell))


def test_the_chapter_prints_lme4s_values_for_its_tests():
    text = cell_text("time-factor-lrt-code")
    for name in ("linear_vs_factor_intercepts", "linear_vs_factor_slopes"):
        test = REFERENCE["likelihood_ratio_tests"][name]
        assert f"{test['chisq']:.4f}" in text and f"{test['p_value']:.4f}" in text
    text = cell_text("time-uncorrelated-fits")
    for origin in ("0", "2", "4.5"):
        reference = REFERENCE["origin"]["uncorrelated_REML"][f"origin_{origin}"]
        assert f"{reference['logLik']:.4f}" in text
    text = cell_text("time-piecewise-fit")
    for row in REFERENCE["piecewise"]["REML"]["fixed_effects"]:
        assert f"{row['estimate']:.3f}" in text and f"{row['std_error']:.3f}" in text
    text = cell_text("time-piecewise-relaxed")
    for row in REFERENCE["piecewise"]["relaxed_REML"]["fixed_effects"]:
        assert f"{row['std_error']:.3f}" in text
    test = REFERENCE["piecewise"]["shared_vs_relaxed_REML"]
    assert f"LR statistic {test['chisq']:.3f} on 3 df, p = {test['p_value']:.3f}" in text
    text = cell_text("time-ex-3-code")
    for name in ("factor_days", "factor_nights", "piecewise_nights", "paired"):
        assert f"SE {REFERENCE['day9_minus_day2'][name]['std_error']:.2f}" in text
