"""course.singular_fit_check: lme4's unit-free singularity test for statsmodels' MixedLM.

Expected values come from R: data/lme4/model-checks-reference.json (made by
data/lme4/model-checks-reference.R), which stores lme4's theta, isSingular() and the
smallest eigenvalue of the relative covariance for singular and non-singular fits, and from
closed forms (a rescaled response leaves theta unchanged; theta is the Cholesky factor of
cov_re / scale, so Lambda Lambda' gives cov_re / scale back).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import course

SINGULAR = course.load_lme4_reference("model-checks")["singular_fits"]


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


def correlated(data):
    return smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days")


def uncorrelated(data):
    # lme4's (Days || Subject): the slope is a variance component.
    return smf.mixedlm(
        "Reaction ~ Days", data, groups="Subject", re_formula="1", vc_formula={"Days": "0 + Days"}
    )


def pilot(sleep):
    return sleep[sleep["Subject"].isin(["308", "309", "310"])]


def centred(sleep):
    """Each subject's mean moved to the grand mean, as the R script does: no intercept
    variance is left."""
    means = sleep.groupby("Subject")["Reaction"].transform("mean")
    return sleep.assign(Reaction=sleep["Reaction"] - means + sleep["Reaction"].mean())


@pytest.fixture(scope="module")
def fits(sleep):
    """statsmodels fits of the models the R script fitted, under the R script's names."""
    with warnings.catch_warnings():
        # Powell's and Nelder-Mead's boundary fits warn about the Hessian by design.
        warnings.simplefilter("ignore")
        return {
            "sleepstudy_correlated": course.fit_tight(correlated(sleep)),
            "seconds_correlated": course.fit_tight(
                correlated(sleep.assign(Reaction=sleep["Reaction"] / 1000))
            ),
            "sleepstudy_uncorrelated": course.fit_tight(uncorrelated(sleep)),
            "sleepstudy_intercepts": course.fit_tight(
                smf.mixedlm("Reaction ~ Days", sleep, groups="Subject")
            ),
            # BFGS fails on the pilot (chapter 5); Powell reaches lme4's singular optimum.
            "pilot_correlated": correlated(pilot(sleep)).fit(reml=True, method="powell"),
            "pilot_uncorrelated": course.fit_tight(uncorrelated(pilot(sleep))),
            # Gradient methods stop short of (or far from) this boundary optimum; Nelder-Mead
            # reaches it (its REML log-likelihood equals lme4's, checked below).
            "centred_uncorrelated": uncorrelated(centred(sleep)).fit(reml=True, method="nm"),
        }


@pytest.mark.parametrize("name", list(SINGULAR))
def test_agrees_with_lme4_is_singular(fits, name):
    reference = SINGULAR[name]
    check = course.singular_fit_check(fits[name])
    assert check.singular is reference["is_singular"]
    assert check.tol == 1e-4
    assert check.diagonal.to_list() == list(np.atleast_1d(reference["diagonal"]))


@pytest.mark.parametrize("name", list(SINGULAR))
def test_theta_agrees_with_lme4(fits, name):
    reference = SINGULAR[name]
    # The optimisers stop at slightly different points: the tight fits agree with lme4 to
    # about 1e-6, Powell and Nelder-Mead on a boundary fit to about 1e-3.
    tight = name not in {"pilot_correlated", "centred_uncorrelated"}
    tolerance = 1e-5 if tight else 2e-3
    assert fits[name].llf == pytest.approx(reference["logLik"], rel=1e-8 if tight else 1e-6)
    check = course.singular_fit_check(fits[name])
    np.testing.assert_allclose(
        check.theta.to_numpy(), np.atleast_1d(reference["theta"]), rtol=0, atol=tolerance
    )
    assert check.min_eigenvalue == pytest.approx(reference["min_eigenvalue"], abs=tolerance)


def test_theta_names_follow_lme4(fits):
    for name in ["sleepstudy_correlated", "sleepstudy_uncorrelated"]:
        names = course.singular_fit_check(fits[name]).theta.index.to_list()
        assert names == SINGULAR[name]["theta_names"]


def test_singular_fits_have_a_zero_eigenvalue_and_regular_fits_do_not(fits):
    for name, fit in fits.items():
        check = course.singular_fit_check(fit)
        if check.singular:
            assert check.min_eigenvalue < 1e-8
        else:
            assert check.min_eigenvalue > 1e-2


def test_theta_is_the_cholesky_factor_of_the_relative_covariance(fits):
    fit = fits["sleepstudy_correlated"]
    theta = course.singular_fit_check(fit).theta.to_numpy()
    factor = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    np.testing.assert_allclose(factor @ factor.T, np.asarray(fit.cov_re) / fit.scale, rtol=1e-12)
    fit = fits["sleepstudy_uncorrelated"]
    theta = course.singular_fit_check(fit).theta.to_numpy()
    np.testing.assert_allclose(
        theta**2, [fit.cov_re.iloc[0, 0] / fit.scale, fit.vcomp[0] / fit.scale], rtol=1e-12
    )


def test_rescaling_the_response_changes_nothing_unlike_the_absolute_warning(sleep, fits):
    """Reaction times in seconds: every variance is divided by 1000^2, theta stays."""
    kilo = sleep.assign(Reaction=sleep["Reaction"] * 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kilo_fit = course.fit_tight(correlated(kilo))
    assert not caught
    base = course.singular_fit_check(fits["sleepstudy_correlated"])
    for rescaled in [course.singular_fit_check(kilo_fit)]:
        np.testing.assert_allclose(rescaled.theta, base.theta, rtol=1e-5)
        assert rescaled.singular is base.singular is False
    seconds = course.singular_fit_check(fits["seconds_correlated"])
    np.testing.assert_allclose(seconds.theta, base.theta, rtol=1e-5)
    assert seconds.singular is False
    # statsmodels' own check compares variances with 0.01 in squared response units: it
    # calls the same fit a boundary fit in seconds (chapter 5), never in ms * 1000.
    assert np.diag(fits["seconds_correlated"].cov_re).min() < 0.01
    assert np.diag(kilo_fit.cov_re).min() > 0.01


def test_the_relative_tolerance_decides(fits):
    check = course.singular_fit_check(fits["sleepstudy_correlated"], tol=0.25)
    assert check.singular  # theta for Days is about 0.23
    assert not course.singular_fit_check(fits["sleepstudy_correlated"], tol=0.2).singular


def test_bad_input_raises_clear_errors(fits, sleep):
    with pytest.raises(TypeError, match="MixedLMResults"):
        course.singular_fit_check(smf.ols("Reaction ~ Days", sleep).fit())
    with pytest.raises(TypeError, match="MixedLMResults"):
        course.singular_fit_check(correlated(sleep))  # a model, not a fitted result
    for tol in [0, -1e-4, np.nan, np.inf, "1e-4", True]:
        with pytest.raises(ValueError, match="tol"):
            course.singular_fit_check(fits["sleepstudy_correlated"], tol=tol)


def test_nan_parameters_raise(sleep):
    fit = course.fit_tight(correlated(sleep))
    cov = np.array(fit._results.cov_re)
    cov[0, 0] = np.nan  # what a failed fit can report
    fit._results.cov_re = cov
    with pytest.raises(ValueError, match="NaN"):
        course.singular_fit_check(fit)
    fit = course.fit_tight(correlated(sleep))
    fit.scale = np.nan
    with pytest.raises(ValueError, match="NaN"):
        course.singular_fit_check(fit)


def test_indefinite_covariance_raises(sleep):
    fit = course.fit_tight(correlated(sleep))
    cov = np.array(fit._results.cov_re)
    cov[0, 1] = cov[1, 0] = 10 * cov[0, 0]  # a "correlation" of about 40
    fit._results.cov_re = cov
    with pytest.raises(ValueError, match="positive semidefinite"):
        course.singular_fit_check(fit)


def test_returns_series_with_the_documented_layout(fits):
    check = course.singular_fit_check(fits["sleepstudy_correlated"])
    assert isinstance(check.theta, pd.Series) and isinstance(check.diagonal, pd.Series)
    assert check.theta.index.equals(check.diagonal.index)
    assert isinstance(check.min_eigenvalue, float) and isinstance(check.singular, bool)
