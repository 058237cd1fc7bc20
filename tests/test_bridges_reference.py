"""Chapters 2 and 4's bridges to the paired t-test, repeated-measures ANOVA and sphericity,
and the marginal covariance each model implies, checked against R.

Expected values come from data/lme4/bridges-reference.json (R's t.test, aov, anova.mlm,
mauchly.test, lmerTest's anova and summary, lme4's VarCorr); the Python side is computed
here from the data with scipy, statsmodels and numpy, independently of the notebooks.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.linalg import null_space
from statsmodels.stats.anova import AnovaRM

import course

REFERENCE = course.load_lme4_reference("bridges")


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def wide(sleep):
    return sleep.pivot(index="Subject", columns="Days", values="Reaction")


def test_paired_t_test_agrees_with_r(wide):
    test = stats.ttest_rel(wide[9], wide[2])
    reference = REFERENCE["paired_t"]
    assert test.statistic == pytest.approx(reference["t"], rel=1e-12)
    assert test.df == reference["df"] == 17
    assert test.pvalue == pytest.approx(reference["p_value"], rel=1e-9)
    difference = wide[9] - wide[2]
    assert difference.mean() == pytest.approx(reference["estimate"], rel=1e-12)


def test_random_intercept_model_of_two_days_is_the_paired_t_test(sleep):
    """Same estimate, SE, t, Satterthwaite df (n - 1) and p, in statsmodels and lmerTest."""
    two = sleep[sleep["Days"].isin([2, 9])].assign(day9=lambda d: (d["Days"] == 9).astype(float))
    fit = course.fit_tight(smf.mixedlm("Reaction ~ day9", two, groups="Subject"))
    row = course.satterthwaite(fit).loc["day9"]
    statsmodels = {
        "estimate": row["Estimate"],
        "std_error": row["Std.Err."],
        "t": row["t"],
        "df": row["df"],
        "p_value": row["P>|t|"],
    }
    paired = REFERENCE["paired_t"]
    for mixed in (statsmodels, REFERENCE["two_day_intercepts"]):
        assert mixed["estimate"] == pytest.approx(paired["estimate"], rel=1e-9)
        assert mixed["std_error"] == pytest.approx(paired["std_error"], rel=1e-6)
        assert mixed["t"] == pytest.approx(paired["t"], rel=1e-6)
        assert mixed["df"] == pytest.approx(17, rel=1e-5)
        assert mixed["p_value"] == pytest.approx(paired["p_value"], rel=1e-4)


def test_repeated_measures_anova_agrees_with_r(sleep):
    table = AnovaRM(sleep, "Reaction", "Subject", within=["Days"]).fit().anova_table
    reference = REFERENCE["repeated_measures_anova"]
    assert table.loc["Days", "F Value"] == pytest.approx(reference["F"], rel=1e-10)
    assert table.loc["Days", "Num DF"] == reference["num_df"] == 9
    assert table.loc["Days", "Den DF"] == reference["den_df"] == 153
    assert table.loc["Days", "Pr > F"] == pytest.approx(reference["p_value"], rel=1e-6)


def test_wald_f_of_the_factor_model_is_the_repeated_measures_f(sleep):
    """statsmodels' Wald F of C(Days), lmerTest's anova() F and ddf, aov's F: all equal."""
    fit = course.fit_tight(smf.mixedlm("Reaction ~ C(Days)", sleep, groups="Subject"))
    beta = fit.fe_params.to_numpy()
    cov_beta = fit.cov_params().iloc[: len(beta), : len(beta)].to_numpy()
    contrast = np.eye(len(beta))[1:]
    wald = contrast @ beta
    f_value = wald @ np.linalg.solve(contrast @ cov_beta @ contrast.T, wald) / len(wald)
    lmertest = REFERENCE["factor_intercepts_anova"]
    assert f_value == pytest.approx(lmertest["F"], rel=1e-6)
    assert f_value == pytest.approx(REFERENCE["repeated_measures_anova"]["F"], rel=1e-6)
    assert lmertest["num_df"] == 9
    assert lmertest["den_df"] == pytest.approx(153, rel=1e-6)
    # lmerTest's ddf for a 9-df test: one Satterthwaite df per eigen-direction of the
    # contrast's covariance; on these balanced data each is (n - 1)(k - 1) = 153.
    _, vectors = np.linalg.eigh(contrast @ cov_beta @ contrast.T)
    directions = course.satterthwaite(fit, contrast=vectors.T @ contrast)
    assert directions["df"].to_numpy() == pytest.approx(np.full(9, 153.0), rel=1e-4)


def test_greenhouse_geisser_and_huynh_feldt_epsilons_agree_with_r(wide):
    covariance = np.cov(wide.to_numpy(), rowvar=False)
    k, n = covariance.shape[0], len(wide)
    contrasts = null_space(np.ones((1, k)))  # k x (k - 1), orthonormal, orthogonal to 1
    reduced = contrasts.T @ covariance @ contrasts
    gg = np.trace(reduced) ** 2 / ((k - 1) * np.trace(reduced @ reduced))
    hf = (n * (k - 1) * gg - 2) / ((k - 1) * (n - 1 - (k - 1) * gg))
    reference = REFERENCE["sphericity"]
    assert gg == pytest.approx(reference["greenhouse_geisser_epsilon"], rel=1e-10)
    assert hf == pytest.approx(reference["huynh_feldt_epsilon"], rel=1e-10)
    corrected = stats.f.sf(reference["F"], 9 * gg, 153 * gg)
    assert corrected == pytest.approx(reference["greenhouse_geisser_p_value"], rel=1e-6)


def test_observed_covariance_agrees_with_r(wide):
    covariance = np.cov(wide.to_numpy(), rowvar=False)
    reference = np.array(REFERENCE["observed"]["covariance"])
    np.testing.assert_allclose(covariance, reference, rtol=1e-12)


@pytest.mark.parametrize(
    "name, options",
    [("intercepts", {}), ("correlated", {"re_formula": "Days"})],
)
def test_implied_marginal_covariance_agrees_with_lme4(sleep, name, options):
    fit = course.fit_tight(smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", **options))
    z = np.column_stack([np.ones(10), np.arange(10.0)])[:, : fit.cov_re.shape[0]]
    implied = z @ fit.cov_re.to_numpy() @ z.T + fit.scale * np.eye(10)
    reference = REFERENCE["implied"][name]
    assert fit.llf == pytest.approx(reference["logLik"], abs=1e-7)
    np.testing.assert_allclose(implied, np.array(reference["covariance"]), rtol=1e-6)
    np.testing.assert_allclose(np.diag(implied), np.array(reference["variance_by_day"]), rtol=1e-6)
