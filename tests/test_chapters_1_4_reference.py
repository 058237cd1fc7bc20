"""Statements of chapters 1, 2 and 4 checked against R (data/lme4/chapters-1-4-reference.json).

Each expected value comes from R (lme4, lmerTest, or a closed form evaluated in R by
data/lme4/chapters-1-4-reference.R); the Python side is computed here independently of the
notebooks, from the data, with statsmodels, numpy and scipy.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course

REFERENCE = course.load_lme4_reference("chapters-1-4")


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def slopes(sleep):
    return sleep.groupby("Subject").apply(
        lambda d: np.polyfit(d["Days"], d["Reaction"], deg=1)[0], include_groups=False
    )


def test_per_subject_slope_t_test_is_lmertests_satterthwaite_test_of_the_maximal_model(slopes):
    """Chapter 1: on balanced, complete data the shortcut is the mixed model's own test."""
    test = stats.ttest_1samp(slopes, popmean=0)
    satterthwaite = REFERENCE["maximal_REML_satterthwaite_Days"]
    assert satterthwaite["formula"] == "Reaction ~ Days + (Days | Subject)"
    assert satterthwaite["estimate"] == pytest.approx(slopes.mean(), rel=1e-12)
    assert satterthwaite["std_error"] == pytest.approx(
        slopes.std() / np.sqrt(len(slopes)), rel=1e-6
    )
    assert satterthwaite["df"] == pytest.approx(test.df, abs=1e-4)
    assert satterthwaite["t_value"] == pytest.approx(test.statistic, rel=1e-6)
    assert satterthwaite["p_value"] == pytest.approx(test.pvalue, rel=1e-5)
    # R's own t.test of the same slopes agrees with scipy's to rounding error.
    assert REFERENCE["per_subject_slopes"]["t_value"] == pytest.approx(test.statistic, rel=1e-12)
    assert REFERENCE["per_subject_slopes"]["df"] == test.df


def test_cluster_robust_se_has_the_small_sample_correction_and_normal_p_values(sleep):
    """Chapter 1: statsmodels' default cluster SE is CR1 and its p-value is a normal one."""
    groups = {"groups": sleep["Subject"]}
    ols = REFERENCE["ols_Days"]
    default = smf.ols("Reaction ~ Days", data=sleep).fit(cov_type="cluster", cov_kwds=groups)
    uncorrected = smf.ols("Reaction ~ Days", data=sleep).fit(
        cov_type="cluster", cov_kwds={**groups, "use_correction": False}
    )
    with_t = smf.ols("Reaction ~ Days", data=sleep).fit(
        cov_type="cluster", cov_kwds=groups, use_t=True
    )
    assert default.bse["Days"] == pytest.approx(ols["cluster_robust_CR1_std_error"], rel=1e-10)
    assert uncorrected.bse["Days"] == pytest.approx(ols["cluster_robust_CR0_std_error"], rel=1e-10)
    assert (default.bse["Days"] / uncorrected.bse["Days"]) ** 2 == pytest.approx(
        ols["CR1_correction_factor"], rel=1e-10
    )
    assert not default.use_t
    assert default.pvalues["Days"] == pytest.approx(ols["CR1_normal_p_value"], rel=1e-6)
    assert with_t.df_resid_inference == ols["n_clusters"] - 1
    assert with_t.pvalues["Days"] == pytest.approx(
        ols["CR1_t_p_value_df_clusters_minus_1"], rel=1e-8
    )


def test_ratio_of_subject_variance_to_var_reaction_is_near_the_unadjusted_icc(sleep):
    """Chapter 2: the two ICCs of Nakagawa, Johnson & Schielzeth (2017), as computed in R."""
    fit = course.fit_sleepstudy_models(sleep, names=["intercepts"])["intercepts"]
    icc = REFERENCE["intercepts_REML_icc"]
    tau2, sigma2 = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    fixed = np.var(fit.predict(), ddof=1)
    assert fixed == pytest.approx(icc["fixed_effects_variance"], rel=1e-10)
    assert tau2 / (tau2 + sigma2) == pytest.approx(icc["adjusted_icc"], rel=1e-6)
    assert tau2 / (fixed + tau2 + sigma2) == pytest.approx(icc["unadjusted_icc"], rel=1e-6)
    assert tau2 / sleep["Reaction"].var() == pytest.approx(
        icc["subject_variance_over_var_Reaction"], rel=1e-6
    )
    assert abs(icc["unadjusted_icc"] - icc["subject_variance_over_var_Reaction"]) < 0.011


def test_default_ml_fit_stops_short_and_a_tight_fit_reaches_lme4(sleep):
    """Chapter 2: the ML gap is statsmodels' default stopping early, not a tie."""
    lme4 = course.load_lme4_reference("sleepstudy")["models"]["intercepts"]["ML"]
    lme4_variance = lme4["variance_components"][0]["vcov"]
    default = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit(reml=False)
    tight = course.fit_sleepstudy_models(sleep, reml=False, names=["intercepts"])["intercepts"]
    assert default.llf < lme4["logLik"] - 1e-8
    assert lme4_variance - float(default.cov_re.iloc[0, 0]) > 0.1
    assert tight.llf == pytest.approx(lme4["logLik"], abs=1e-9)
    assert float(tight.cov_re.iloc[0, 0]) == pytest.approx(lme4_variance, abs=1e-3)
    # lme4's default optimiser already reaches the tight optimum to the printed digits.
    ml_default = REFERENCE["intercepts_ML_default_control"]
    assert ml_default["subject_variance"] == pytest.approx(lme4_variance, abs=1e-3)


def test_days_0_to_2_means_and_the_day_0_to_1_change(sleep):
    """Chapter 4: the daily means and the paired test of day 1 against day 0."""
    days = REFERENCE["days_0_to_2"]
    wide = sleep.pivot(index="Subject", columns="Days", values="Reaction")
    for day in (0, 1, 2):
        assert wide[day].mean() == pytest.approx(days[f"mean_day_{day}"], rel=1e-12)
    test = stats.ttest_rel(wide[1], wide[0])
    assert test.statistic == pytest.approx(days["day1_minus_day0_t_value"], rel=1e-10)
    assert test.pvalue == pytest.approx(days["day1_minus_day0_p_value"], rel=1e-8)
    assert int((wide[1] > wide[0]).sum()) == days["subjects_slower_on_day_1"]


def test_day_0_to_1_interval_and_the_rise_after_the_baseline(sleep):
    """Chapter 4: the change's 95% interval holds zero and more than a restricted night's
    rise, and the mean goes up after every night of restriction (days 3-9)."""
    days = REFERENCE["days_0_to_2"]
    wide = sleep.pivot(index="Subject", columns="Days", values="Reaction")
    interval = stats.ttest_rel(wide[1], wide[0]).confidence_interval(confidence_level=0.95)
    low, high = days["day1_minus_day0_conf_int_95"]
    assert interval.low == pytest.approx(low, rel=1e-10)
    assert interval.high == pytest.approx(high, rel=1e-10)
    restricted = course.load_lme4_reference("restricted-days")["models"]["restricted_correlated"]
    slope = next(
        row["estimate"] for row in restricted["fixed_effects"] if row["term"] == "days_restricted"
    )
    assert low < 0 and high > slope  # no change, and more than a night of restriction adds
    means = np.array(days["mean_by_day"])
    assert np.allclose(sleep.groupby("Days")["Reaction"].mean().to_numpy(), means, rtol=1e-12)
    assert np.all(np.diff(means[2:]) > 0)  # up after every restricted night
    # Days 0-2 rise less than restriction does, which is what flattens the all-days slope.
    assert (means[2] - means[0]) / 2 < slope
