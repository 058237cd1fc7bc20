"""Chapter 8's model checks: serial correlation of the residuals and subject influence.

Expected values come from R (data/lme4/model-checks-reference.json, made by
data/lme4/model-checks-reference.R: lme4's residuals and leave-one-subject-out refits,
nlme's AR(1) fit), from small hand-computed cases, and from closed forms: under the
fitted model the conditional residuals are sigma^2 P y with covariance sigma^4 P, so the
expected numerator and denominator of the lag-1 autocorrelation are traces, computed here
from a V built independently of course.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course
import notebooks

CHECKS = course.load_lme4_reference("model-checks")
SERIAL = CHECKS["serial_correlation"]
LOO = CHECKS["leave_one_subject_out"]


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


def correlated(data):
    return smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days")


@pytest.fixture(scope="module")
def fit(sleep):
    return course.fit_tight(correlated(sleep))


@pytest.fixture(scope="module")
def chapter8():
    return notebooks.load("08-diagnostics-and-prediction")


def cell_text(notebook, cell_id):
    cell = next(c for c in notebook.cells if c.get("id") == cell_id)
    return "\n".join(notebooks.output_texts(cell))


# ---- lag-1 autocorrelation ------------------------------------------------------------


def test_lag1_by_hand():
    # One group, times 0, 1, 2: (2 * 1 + 3 * 2) / (1 + 4 + 9).
    assert course.lag1_autocorrelation([1, 2, 3], ["a"] * 3, [0, 1, 2]) == pytest.approx(8 / 14)
    # Pairs never cross groups, rows may come in any order, and a gap breaks a pair: only
    # (a, 2)-(a, 3) and (b, 0)-(b, 1) are one step apart.
    r1 = course.lag1_autocorrelation([4, 1, -1, 2, 3], ["a", "b", "a", "a", "b"], [3, 0, 0, 2, 1])
    assert r1 == pytest.approx((4 * 2 + 3 * 1) / (16 + 1 + 1 + 4 + 9))


def test_lag1_of_many_sets_equals_one_at_a_time(sleep):
    rng = np.random.default_rng(3)
    sets = rng.standard_normal((5, len(sleep)))
    many = course.lag1_autocorrelation(sets, sleep["Subject"], sleep["Days"])
    one = [course.lag1_autocorrelation(s, sleep["Subject"], sleep["Days"]) for s in sets]
    np.testing.assert_allclose(many, one, rtol=1e-14)


def test_lag1_of_the_fit_agrees_with_lme4(sleep, fit):
    r1 = course.lag1_autocorrelation(fit.resid, sleep["Subject"], sleep["Days"])
    assert r1 == pytest.approx(SERIAL["lme4_lag1_autocorrelation"], abs=1e-6)
    assert SERIAL["lag1_pairs"] == 18 * 9


@pytest.mark.parametrize(
    "residuals, groups, time, message",
    [
        ([1.0, 2.0], ["a", "a", "a"], [0, 1, 2], "same length"),
        ([1.0, np.nan, 2.0], ["a"] * 3, [0, 1, 2], "missing"),
        ([1.0, 2.0, 3.0], ["a"] * 3, [0, 0.5, 1], "integer"),
        ([1.0, 2.0, 3.0], ["a"] * 3, [0, 1, 1], "once"),
        ([1.0, 2.0, 3.0], ["a", "b", "c"], [0, 1, 2], "one time step"),
        ([0.0, 0.0, 0.0], ["a"] * 3, [0, 1, 2], "are 0"),
    ],
)
def test_lag1_bad_input(residuals, groups, time, message):
    with pytest.raises(ValueError, match=message):
        course.lag1_autocorrelation(residuals, groups, time)


# ---- the reference distribution -------------------------------------------------------


def projection(sleep, fit):
    """P = V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1 from the fit's estimates, built per subject."""
    sorted_rows = sleep.sort_values(["Subject", "Days"])
    assert sorted_rows.index.equals(sleep.index)  # sleepstudy is stored subject by subject
    z = np.column_stack([np.ones(10), np.arange(10.0)])
    block = z @ np.asarray(fit.cov_re) @ z.T + fit.scale * np.eye(10)
    V = np.kron(np.eye(18), block)
    X = np.column_stack([np.ones(len(sleep)), sleep["Days"].to_numpy(float)])
    V_inv = np.linalg.inv(V)
    return V, X, V_inv - V_inv @ X @ np.linalg.inv(X.T @ V_inv @ X) @ X.T @ V_inv


def test_conditional_residuals_are_sigma_squared_p_y(sleep, fit):
    _, _, P = projection(sleep, fit)
    np.testing.assert_allclose(
        fit.scale * P @ sleep["Reaction"].to_numpy(), fit.resid, rtol=0, atol=1e-8
    )


def test_simulated_reference_matches_its_closed_form(sleep, fit):
    """E[sum e_t e_(t-1)] / E[sum e^2] = tr(S P) / tr(P) for residuals with covariance
    sigma^4 P, S picking the lag-1 pairs; the mean ratio differs from it by O(1/n)."""
    _, _, P = projection(sleep, fit)
    S = np.kron(np.eye(18), np.eye(10, k=-1))
    expected = np.trace(S @ P) / np.trace(P)
    draws = course.simulate_conditional_residuals(fit, 4000, np.random.default_rng(11))
    assert draws.shape == (4000, 180)
    r1 = course.lag1_autocorrelation(draws, sleep["Subject"], sleep["Days"])
    # Monte Carlo SE about 0.066 / sqrt(4000) = 0.001, plus the small ratio bias.
    assert r1.mean() == pytest.approx(expected, abs=0.006)
    assert -0.2 < expected < -0.1  # negative although the errors are independent
    # Their covariance is sigma^4 P: compare the variance of every residual.
    np.testing.assert_allclose(draws.var(axis=0), fit.scale**2 * np.diag(P), rtol=0.1)


def test_simulation_is_seeded(fit):
    first = course.simulate_conditional_residuals(fit, 3, np.random.default_rng(5))
    again = course.simulate_conditional_residuals(fit, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)


def test_holding_the_variances_fixed_changes_the_reference_little(sleep, fit):
    """A full parametric bootstrap refits every simulated data set; the course's reference
    keeps the variance estimates. On the same 40 data sets the two distributions of r1
    have about the same centre and spread. (Measured on 100 data sets: mean -0.156 with
    the variances fixed, -0.145 refitted; SD 0.061 and 0.067.)"""
    V, X, P = projection(sleep, fit)
    rng = np.random.default_rng(20261201)
    L = np.linalg.cholesky(V)
    mean = X @ np.asarray(fit.fe_params)
    fixed, refitted = [], []
    failed = 0
    for _ in range(40):
        y = mean + L @ rng.standard_normal(len(mean))
        data = sleep.assign(Reaction=y)
        with warnings.catch_warnings():
            # statsmodels' optimisers fail on some of these data sets from some starts, and
            # which ones depends on the BLAS's rounding (BFGS from the default start stops
            # at a gradient of about 20, several log-likelihood units short; now and then
            # so does L-BFGS). So each data set is refitted from the estimates it was
            # simulated from (the usual start of a parametric bootstrap) and from an L-BFGS
            # fit, and the better fit is kept. A fresh model for each fit: a MixedLM model
            # keeps state between fits.
            warnings.simplefilter("ignore")
            candidates = [
                course.fit_tight(correlated(data), start_params=fit.params_object),
                course.fit_tight(
                    correlated(data),
                    start_params=correlated(data).fit(reml=True, method="lbfgs").params_object,
                ),
            ]
        refit = max(candidates, key=lambda result: result.llf)
        gradient = np.abs(refit.model.score(refit.params_object, profile_fe=False)).max()
        if gradient > 1e-4:
            # Left out, as a bootstrap leaves out its failed refits (and counted).
            failed += 1
            continue
        fixed.append(
            course.lag1_autocorrelation(fit.scale * P @ y, sleep["Subject"], sleep["Days"])
        )
        refitted.append(course.lag1_autocorrelation(refit.resid, sleep["Subject"], sleep["Days"]))
    assert failed <= 4
    fixed, refitted = np.array(fixed), np.array(refitted)
    # Paired differences have an SD of about 0.05, so their mean has an SE of about 0.008.
    assert abs(refitted.mean() - fixed.mean()) < 0.03
    assert 0.75 < refitted.std() / fixed.std() < 1.35
    # The observed 0.105 is far in the tail of either distribution.
    observed = SERIAL["lme4_lag1_autocorrelation"]
    assert (observed - refitted.mean()) / refitted.std() > 3


def test_simulate_bad_input(fit, sleep):
    with pytest.raises(TypeError, match="MixedLMResults"):
        course.simulate_conditional_residuals(smf.ols("Reaction ~ Days", sleep).fit(), 2, None)
    for n_sim in [0, -3, 2.5, True]:
        with pytest.raises(ValueError, match="n_sim"):
            course.simulate_conditional_residuals(fit, n_sim, np.random.default_rng(0))


# ---- nlme's AR(1) fit, as chapter 8 reports it -----------------------------------------


def test_nlme_fitted_the_same_model_without_ar1(fit):
    nlme = SERIAL["nlme"]
    assert fit.llf == pytest.approx(nlme["logLik_without_ar1"], rel=1e-8)
    np.testing.assert_allclose(
        list(nlme["fixed_effects_without_ar1"].values()), fit.fe_params, rtol=1e-6
    )
    np.testing.assert_allclose(list(nlme["std_error_without_ar1"].values()), fit.bse_fe, rtol=1e-5)


def test_nlme_likelihood_ratio_test_is_consistent():
    nlme = SERIAL["nlme"]
    lr = 2 * (nlme["logLik_with_ar1"] - nlme["logLik_without_ar1"])
    assert nlme["lrt_statistic"] == pytest.approx(lr, rel=1e-12)
    assert nlme["lrt_p_value"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-9)
    low, high = nlme["phi_profile_interval_95"]
    assert low < nlme["phi"] < high
    # The profiled maximum is above the point where BFGS stopped, and on the boundary.
    assert nlme["logLik_with_ar1"] > nlme["free_fit_bfgs"]["logLik"]
    assert nlme["random_effects_correlation_with_ar1"] > 0.999


def test_chapter_8_prints_the_stored_r_results(chapter8):
    nlme = SERIAL["nlme"]
    text = cell_text(chapter8, "serial-nlme")
    assert f"phi = {nlme['phi']:.2f}" in text
    assert f"chi2 = {nlme['lrt_statistic']:.1f} on 1 df, p = {nlme['lrt_p_value']:.2g}" in text
    assert f"{SERIAL['lme4_lag1_autocorrelation']:.3f}" in cell_text(chapter8, "serial-lag1")


# ---- leave one subject out ------------------------------------------------------------


@pytest.fixture(scope="module")
def influence(sleep, fit):
    return course.leave_one_group_out(
        fit, lambda data: course.fit_tight(correlated(data)), sleep, "Subject"
    )


def lme4_frame(key):
    return pd.DataFrame({s: row[key] for s, row in LOO["subjects"].items()}).T


def test_leave_one_out_agrees_with_lme4(influence, fit):
    assert influence.converged.all()
    assert list(influence.estimates.index) == list(LOO["subjects"])
    np.testing.assert_allclose(influence.estimates, lme4_frame("fixed_effects"), rtol=1e-6)
    # Balanced data: statsmodels' bse_fe equals lme4's standard errors.
    np.testing.assert_allclose(influence.std_errors, lme4_frame("std_error"), rtol=1e-5)
    np.testing.assert_allclose(influence.dfbetas, lme4_frame("dfbetas"), rtol=0, atol=1e-5)
    cooks = pd.Series({s: row["cooks_distance"] for s, row in LOO["subjects"].items()})
    np.testing.assert_allclose(influence.cooks_distance, cooks, rtol=1e-4)
    np.testing.assert_allclose(fit.bse_fe, list(LOO["full_std_error"].values()), rtol=1e-5)


def test_dfbetas_and_change_follow_their_definitions(influence, fit):
    np.testing.assert_allclose(
        influence.change, influence.estimates - np.asarray(fit.fe_params), rtol=1e-12
    )
    np.testing.assert_allclose(
        influence.dfbetas, -influence.change / influence.std_errors, rtol=1e-12
    )


def test_chapter_8_names_the_subjects_lme4_names(chapter8):
    dfbetas = lme4_frame("dfbetas")["Days"]
    most = dfbetas.abs().idxmax()
    assert most == "335"
    text = cell_text(chapter8, "influence-refits")
    assert f"{dfbetas[most]:.3f}" in text
    cooks = pd.Series({s: row["cooks_distance"] for s, row in LOO["subjects"].items()})
    assert cooks.idxmax() == "309"
    assert f"{cooks['309']:.3f}" in cell_text(chapter8, "ex-influence-code")


def test_leave_one_out_bad_input(sleep, fit):
    with pytest.raises(TypeError, match="MixedLMResults"):
        course.leave_one_group_out(
            smf.ols("Reaction ~ Days", sleep).fit(), lambda d: None, sleep, "Subject"
        )
    with pytest.raises(KeyError, match="Person"):
        course.leave_one_group_out(fit, lambda d: None, sleep, "Person")
    two = sleep[sleep["Subject"].isin(["308", "309"])]
    with pytest.raises(ValueError, match="three groups"):
        course.leave_one_group_out(fit, lambda d: None, two, "Subject")
    with pytest.raises(TypeError, match="refit"):
        course.leave_one_group_out(fit, lambda d: "not a fit", sleep, "Subject")
    with pytest.raises(ValueError, match="fixed effects"):
        course.leave_one_group_out(
            fit,
            lambda d: course.fit_tight(
                smf.mixedlm("Reaction ~ 1", d, groups="Subject", re_formula="Days")
            ),
            sleep,
            "Subject",
        )
