"""Chapter 11's shortcut: for balanced, complete data the two-stage analysis (a least-squares
slope per subject, then a one-sample t test) is the mixed model's small-sample test.
The functions tested are the chapter's own, course.two_stage_test and course.exact_power.

Checked against lme4/lmerTest values stored in data/lme4/sleepstudy-reference.json, against
statsmodels' REML fits of simulated data, and for its false-positive rate.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course

REFERENCE = course.load_lme4_reference("sleepstudy")


@pytest.fixture(scope="module")
def sleep_fit():
    sleep = course.load_sleepstudy()
    return sleep, smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit()


def test_two_stage_equals_lmertest_on_the_sleepstudy(sleep_fit):
    sleep, _ = sleep_fit
    wide = sleep.pivot(index="Subject", columns="Days", values="Reaction")
    estimate, se, p = course.two_stage_test(wide.columns.to_numpy(), wide.to_numpy())
    t = estimate / se
    lmertest = next(
        row
        for row in REFERENCE["small_sample_tests"]["correlated_REML_satterthwaite"]
        if row["term"] == "Days"
    )
    # lme4's optimum is precise to about 1e-8 (see data/lme4/README.md).
    assert estimate == pytest.approx(lmertest["estimate"], rel=1e-9)
    assert se == pytest.approx(lmertest["std_error"], rel=1e-6)
    assert t == pytest.approx(lmertest["t_value"], rel=1e-6)
    assert len(wide) - 1 == pytest.approx(lmertest["df"], abs=1e-4)
    # lmerTest's df is 16.999999 rather than 17, which moves p by 6e-7 relative.
    assert p == pytest.approx(lmertest["p_value"], rel=1e-5)


def test_two_stage_equals_statsmodels_reml_on_interior_simulated_fits(sleep_fit):
    _, fit = sleep_fit
    beta, covariance, sigma = fit.fe_params.to_numpy(), fit.cov_re.to_numpy(), np.sqrt(fit.scale)
    rng = np.random.default_rng(11)
    days, n = np.arange(10), 18
    compared = 0
    for _ in range(8):
        deviations = rng.standard_normal((n, 2)) @ np.linalg.cholesky(covariance).T
        reaction = (
            beta[0]
            + deviations[:, :1]
            + (beta[1] / 2 + deviations[:, 1:]) * days
            + rng.normal(0, sigma, (n, len(days)))
        )
        data = pd.DataFrame(
            {
                "Reaction": reaction.ravel(),
                "Days": np.tile(days, n),
                "Subject": np.repeat(np.arange(n), len(days)),
            }
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reml = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days").fit()
        estimate, se, _ = course.two_stage_test(days, reaction)
        # The estimate is the mean slope whatever the variance estimates.
        assert reml.fe_params["Days"] == pytest.approx(estimate, rel=1e-9)
        interior = np.linalg.eigvalsh(reml.cov_re.to_numpy()).min() > 1e-3 * covariance[1, 1]
        if not caught and interior:
            assert reml.bse_fe["Days"] == pytest.approx(se, rel=1e-3)
            compared += 1
    assert compared >= 5, "too few converged interior fits to check the standard error"


def test_two_stage_t_test_holds_its_level_and_the_z_test_does_not(sleep_fit):
    _, fit = sleep_fit
    covariance, sigma = fit.cov_re.to_numpy(), np.sqrt(fit.scale)
    rng = np.random.default_rng(12)
    runs, n, days = 20000, 6, np.arange(10)
    deviations = rng.standard_normal((runs, n, 2)) @ np.linalg.cholesky(covariance).T
    reaction = (
        250 + deviations[..., :1] + deviations[..., 1:] * days + rng.normal(0, sigma, (runs, n, 10))
    )
    estimate, se, p = course.two_stage_test(days, reaction)
    t = estimate / se
    monte_carlo_se = np.sqrt(0.05 * 0.95 / runs)
    assert (p < 0.05).mean() == pytest.approx(0.05, abs=4 * monte_carlo_se)
    # The z test's actual level is P(|t_5| > 1.96), about 0.107.
    expected_z_level = 2 * stats.t.sf(stats.norm.ppf(0.975), n - 1)
    assert (np.abs(t) > stats.norm.ppf(0.975)).mean() == pytest.approx(
        expected_z_level, abs=4 * np.sqrt(0.1 * 0.9 / runs)
    )


def test_exact_power_formula_matches_a_large_simulation(sleep_fit):
    _, fit = sleep_fit
    beta, covariance, sigma = fit.fe_params.to_numpy(), fit.cov_re.to_numpy(), np.sqrt(fit.scale)
    rng = np.random.default_rng(13)
    runs, n, days = 20000, 14, np.arange(10)
    slope = beta[1] / 2
    deviations = rng.standard_normal((runs, n, 2)) @ np.linalg.cholesky(covariance).T
    reaction = (
        beta[0]
        + deviations[..., :1]
        + (slope + deviations[..., 1:]) * days
        + rng.normal(0, sigma, (runs, n, 10))
    )
    simulated = (course.two_stage_test(days, reaction)[2] < 0.05).mean()
    exact = course.exact_power(
        n, len(days), slope, slope_sd=np.sqrt(covariance[1, 1]), residual_sd=sigma
    )
    assert simulated == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / runs))


def test_exact_power_is_the_level_under_the_null_and_grows_with_the_design():
    assert course.exact_power(10, 10, 0.0, slope_sd=5.0, residual_sd=25.0) == pytest.approx(
        0.05, abs=1e-12
    )
    assert course.exact_power(
        10, 10, 0.0, slope_sd=5.0, residual_sd=25.0, alpha=0.01
    ) == pytest.approx(0.01, abs=1e-12)
    powers = [course.exact_power(n, 10, 5.0, slope_sd=5.0, residual_sd=25.0) for n in (6, 10, 20)]
    assert powers == sorted(powers) and powers[-1] < 1


def test_subject_slopes_are_least_squares_slopes():
    rng = np.random.default_rng(14)
    days, reaction = np.arange(7), rng.normal(250, 30, size=(5, 7))
    expected = [np.polyfit(days, row, 1)[0] for row in reaction]
    np.testing.assert_allclose(course.subject_slopes(days, reaction), expected, rtol=1e-12)
