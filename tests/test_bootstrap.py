"""course.bootstrap_lrt() and course.bootstrap_interval(): the parametric bootstrap.

Reference values: lme4's log-likelihoods (data/lme4/sleepstudy-reference.json) for the
refits the bootstrap runs, and pbkrtest's PBmodcomp (data/lme4/bootstrap-reference.json,
1000 simulated data sets per comparison) for the tests. Monte Carlo results are
compared within 4 Monte Carlo standard errors (a false alarm about once in 16,000 runs
for each comparison, were the seeds not fixed), with the seeds fixed so that a run is
reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course

LME4 = course.load_lme4_reference("sleepstudy")["models"]
PB = course.load_lme4_reference("bootstrap")["comparisons"]
PHASE = "C(phase, Treatment('restriction'))"


def unbalanced_sleepstudy():
    sleep = course.load_sleepstudy()
    position = sleep["Subject"].map({s: i for i, s in enumerate(sorted(sleep["Subject"].unique()))})
    kept = sleep[(position + sleep["Days"]) % 4 != 0].copy()
    kept["phase"] = np.where(kept["Days"] < 2, "training", "restriction")
    return kept.reset_index(drop=True)


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def ml_fits(sleep):
    return course.fit_sleepstudy_models(
        sleep, reml=False, names=["intercepts", "uncorrelated", "correlated"]
    )


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("name", ["intercepts", "slopes", "uncorrelated", "correlated"])
def test_refit_reaches_lme4s_optimum(sleep, name, reml):
    """The bootstrap's own refit (profiled deviance over theta) finds lme4's optimum,
    from a start away from it."""
    result = course.fit_sleepstudy_models(sleep, reml=reml, names=[name])[name]
    deviance = course._RemlDeviance(result.model)
    start = 0.5 * deviance.theta_from_result(result) + 0.1
    fitted = deviance.fit(start, reml)
    expected = LME4[name]["REML" if reml else "ML"]
    assert fitted["converged"]
    assert -fitted["deviance"] / 2 == pytest.approx(expected["logLik"], abs=1e-6)
    assert fitted["sigma"] == pytest.approx(expected["sigma"], rel=1e-4)


def test_observed_statistic_matches_r(ml_fits):
    result = course.bootstrap_lrt(
        ml_fits["intercepts"], ml_fits["uncorrelated"], 1, np.random.default_rng(0)
    )
    reference = PB["slope_variance"]
    assert result.statistic == pytest.approx(reference["lrt_statistic"], rel=1e-5)


@pytest.fixture(scope="module")
def slope_variance(ml_fits):
    return course.bootstrap_lrt(
        ml_fits["intercepts"], ml_fits["uncorrelated"], 300, np.random.default_rng(20240601)
    )


def test_same_seed_same_result(ml_fits):
    first = course.bootstrap_lrt(
        ml_fits["intercepts"], ml_fits["uncorrelated"], 5, np.random.default_rng(7)
    )
    second = course.bootstrap_lrt(
        ml_fits["intercepts"], ml_fits["uncorrelated"], 5, np.random.default_rng(7)
    )
    np.testing.assert_array_equal(first.null_statistics, second.null_statistics)
    other = course.bootstrap_lrt(
        ml_fits["intercepts"], ml_fits["uncorrelated"], 5, np.random.default_rng(8)
    )
    assert not np.array_equal(first.null_statistics, other.null_statistics)


def test_p_value_and_its_monte_carlo_error(slope_variance):
    """PBmodcomp's estimator and the binomial SE (closed forms)."""
    result = slope_variance
    exceed = np.sum(result.null_statistics >= result.statistic - 1e-8 * result.statistic)
    assert result.p_value == (1 + exceed) / (1 + result.n_boot)
    assert result.mc_se == pytest.approx(
        np.sqrt(result.p_value * (1 - result.p_value) / result.n_boot)
    )
    # The observed slope variance is far beyond every simulated statistic, as in R.
    assert result.p_value == 1 / 301
    # pbkrtest 0.5.2 counts only positive statistics (505 of its 1000 here).
    reference = PB["slope_variance"]
    assert reference["n_extreme"] == 0
    assert reference["pb_p_value"] == pytest.approx(1 / (1 + reference["n_positive"]), rel=1e-12)


def test_null_distribution_against_chi_square_mixture_and_naive(slope_variance):
    """Under the smaller model the statistic is 0 about half the time or more, and the
    chi-square mixture (0.5 chi2_0 + 0.5 chi2_1, critical value 2.71) and the naive
    chi2_1 test (3.84) are both conservative here: fewer than 5% of the simulated
    statistics exceed either critical value (Pinheiro and Bates 2000, section 2.4.1)."""
    null = slope_variance.null_statistics
    n = len(null)
    zero_share = np.mean(null < 1e-6)
    assert zero_share > 0.5 - 4 * np.sqrt(0.25 / n)
    mixture_critical = stats.chi2.ppf(0.9, 1)  # 5% from the chi2_1 half of the mixture
    naive_critical = stats.chi2.ppf(0.95, 1)
    assert mixture_critical == pytest.approx(2.7055, abs=1e-4)
    for critical in (mixture_critical, naive_critical):
        share = np.mean(null >= critical)
        assert share < 0.05
    assert slope_variance.n_unconverged == 0


def test_null_distribution_matches_pbmodcomp(slope_variance):
    """Same reference distribution as pbkrtest's (1000 draws in R, 300 here): the share
    of zeros and the share beyond the mixture's critical value agree within 4 combined
    Monte Carlo SEs, and a two-sample Kolmogorov-Smirnov test does not reject."""
    ours = slope_variance.null_statistics
    theirs = np.asarray(PB["slope_variance"]["null_statistics"])
    for threshold in (1e-6, 2.7055):
        a, b = np.mean(ours >= threshold), np.mean(theirs >= threshold)
        se = np.sqrt(a * (1 - a) / len(ours) + b * (1 - b) / len(theirs))
        assert abs(a - b) < 4 * se
    # Statistics below 1e-6 are zeros up to each optimiser's tolerance: set both to 0.
    ks = stats.ks_2samp(np.where(ours < 1e-6, 0, ours), np.where(theirs < 1e-6, 0, theirs))
    assert ks.pvalue > 1e-3


def test_fixed_effect_p_value_matches_pbmodcomp():
    """A fixed-effect test with a p-value away from 0 (phase in the unbalanced design):
    the bootstrap p agrees with PBmodcomp's within 4 combined Monte Carlo SEs, and so
    (here) does the naive chi-square test, as expected for a fixed effect with 135 rows."""
    data = unbalanced_sleepstudy()
    vc = {"Days": "0 + Days"}
    small = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="1", vc_formula=vc)
    large = smf.mixedlm(
        f"Reaction ~ Days + {PHASE}", data, groups="Subject", re_formula="1", vc_formula=vc
    )
    small_fit = small.fit(reml=False, method="bfgs", gtol=1e-8)
    large_fit = large.fit(reml=False, method="bfgs", gtol=1e-8)
    reference = PB["phase_effect"]
    result = course.bootstrap_lrt(small_fit, large_fit, 300, np.random.default_rng(20240602))
    assert result.statistic == pytest.approx(reference["lrt_statistic"], rel=1e-5)
    # The standard estimator from pbkrtest's simulated statistics; all 1000 are positive
    # for a fixed effect, so it equals PBmodcomp's own p-value.
    null = np.asarray(reference["null_statistics"])
    theirs = (1 + np.sum(null >= reference["lrt_statistic"])) / (1 + len(null))
    assert theirs == pytest.approx(reference["pb_p_value"], rel=1e-12)
    se = np.sqrt(result.mc_se**2 + theirs * (1 - theirs) / reference["n_used"])
    assert abs(result.p_value - theirs) < 4 * se
    assert abs(result.p_value - reference["chisq_p_value"]) < 4 * result.mc_se


def test_refuses_reml_fits_with_different_fixed_effects(sleep):
    small = smf.mixedlm("Reaction ~ 1", sleep, groups="Subject").fit()
    large = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit()
    with pytest.raises(ValueError, match="reml=False"):
        course.bootstrap_lrt(small, large, 10, np.random.default_rng(0))


def test_refuses_mixed_criteria_and_other_responses(sleep, ml_fits):
    reml_fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit()
    with pytest.raises(ValueError, match="same criterion"):
        course.bootstrap_lrt(reml_fit, ml_fits["uncorrelated"], 10, np.random.default_rng(0))
    shifted = sleep.assign(Reaction=sleep["Reaction"] + 1.0)
    other = smf.mixedlm("Reaction ~ Days", shifted, groups="Subject").fit(reml=False)
    with pytest.raises(ValueError, match="same rows and response"):
        course.bootstrap_lrt(other, ml_fits["uncorrelated"], 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_boot"):
        course.bootstrap_lrt(
            ml_fits["intercepts"], ml_fits["uncorrelated"], 0, np.random.default_rng(0)
        )


def test_refuses_unconverged_fit(sleep, ml_fits):
    model = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    with pytest.warns(Warning):
        bad = model.fit(reml=False, method="bfgs", maxiter=2)
    with pytest.raises(ValueError, match="converge"):
        course.bootstrap_lrt(ml_fits["intercepts"], bad, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="converge"):
        course.bootstrap_interval(bad, "Days", 10, np.random.default_rng(0))


@pytest.fixture(scope="module")
def correlated_reml(sleep):
    return course.fit_sleepstudy_models(sleep, names=["correlated"])["correlated"]


def test_interval_for_a_fixed_effect(correlated_reml):
    """Simulating from the fit, the refitted slopes centre on the simulated slope and
    spread like lme4's standard error (1.5458), within their Monte Carlo error."""
    result = course.bootstrap_interval(correlated_reml, "Days", 200, np.random.default_rng(11))
    draws = result.replicates
    rows = LME4["correlated"]["REML"]["fixed_effects"]
    se_lme4 = next(row["std_error"] for row in rows if row["term"] == "Days")
    assert abs(draws.mean() - correlated_reml.fe_params["Days"]) < 4 * se_lme4 / np.sqrt(len(draws))
    # The SD of 200 normal draws has a relative SE of about 1 / sqrt(2 x 199) = 5%.
    assert draws.std(ddof=1) == pytest.approx(se_lme4, rel=4 * 0.05)
    assert result.lower == pytest.approx(np.quantile(draws, 0.025))
    assert result.upper == pytest.approx(np.quantile(draws, 0.975))
    assert result.lower < result.estimate < result.upper
    assert 0 < result.mc_se_lower < result.upper - result.lower
    assert result.n_unconverged == 0


def test_interval_for_variance_parameters(correlated_reml):
    """The parameter names follow varcorr's terms; the residual SD is estimated nearly
    without bias, so its replicates centre on the simulated value."""
    result = course.bootstrap_interval(
        correlated_reml, "sd:Residual", 100, np.random.default_rng(12)
    )
    sigma = np.sqrt(correlated_reml.scale)
    assert result.estimate == pytest.approx(sigma)
    draws = result.replicates
    assert abs(draws.mean() - sigma) < 4 * draws.std(ddof=1) / np.sqrt(len(draws))
    slope = course.bootstrap_interval(correlated_reml, "sd:Days", 20, np.random.default_rng(13))
    assert slope.estimate == pytest.approx(np.sqrt(correlated_reml.cov_re.loc["Days", "Days"]))
    assert np.all(slope.replicates >= 0)
    with pytest.raises(ValueError, match="Unknown parameter"):
        course.bootstrap_interval(correlated_reml, "sd:Nope", 10, np.random.default_rng(0))
