"""Chapter 4's design-faithful analysis (days 2-9, counted from baseline) agrees with lme4.

The reference values were computed by data/lme4/restricted-days-reference.R with tightly
converged optimisers; statsmodels' default optimiser stops a little earlier, so variances,
covariances and standard errors are compared to a relative 1e-4 (achieved: up to 2e-5).
The log-likelihood is flat at its maximum, so errors of that size move it by about 1e-9
(achieved); it is compared to 1e-6 absolute.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf

import course

REFERENCE = course.load_lme4_reference("restricted-days")


@pytest.fixture(scope="module")
def restricted():
    sleep = course.load_sleepstudy()
    baseline_on = sleep[sleep["Days"] >= 2]
    return baseline_on.assign(days_restricted=baseline_on["Days"] - 2)


@pytest.fixture(scope="module")
def fits(restricted):
    correlated = smf.mixedlm(
        "Reaction ~ days_restricted", restricted, groups="Subject", re_formula="days_restricted"
    ).fit()
    uncorrelated = smf.mixedlm(
        "Reaction ~ days_restricted",
        restricted,
        groups="Subject",
        re_formula="1",
        vc_formula={"days_restricted": "0 + days_restricted"},
    ).fit()
    return {"restricted_correlated": correlated, "restricted_uncorrelated": uncorrelated}


def lme4_variances(name):
    rows = REFERENCE["models"][name]["variance_components"]
    found = {}
    for row in rows:
        key = "Residual" if row["group"] == "Residual" else (row["var1"], row["var2"])
        found[key] = row
    return found


def test_the_reference_describes_days_two_to_nine(restricted):
    for model in REFERENCE["models"].values():
        assert model["nobs"] == len(restricted) == 144
        assert model["reml"] is True and model["singular"] is False


@pytest.mark.parametrize("name", ["restricted_correlated", "restricted_uncorrelated"])
def test_fixed_effects_loglik_and_residual_variance_agree(fits, name):
    fit, reference = fits[name], REFERENCE["models"][name]
    assert fit.converged
    assert fit.llf == pytest.approx(reference["logLik"], abs=1e-6)
    assert fit.scale == pytest.approx(reference["residual_variance"], rel=1e-4)
    estimates = dict(zip(["Intercept", "days_restricted"], reference["fixed_effects"]))
    for term, row in estimates.items():
        assert fit.fe_params[term] == pytest.approx(row["estimate"], rel=1e-8)
        assert fit.bse_fe[term] == pytest.approx(row["std_error"], rel=1e-4)


def test_correlated_covariance_matrix_agrees(fits):
    fit = fits["restricted_correlated"]
    lme4 = lme4_variances("restricted_correlated")
    cov_re = fit.cov_re.to_numpy()
    assert cov_re[0, 0] == pytest.approx(lme4[("(Intercept)", None)]["vcov"], rel=1e-4)
    assert cov_re[1, 1] == pytest.approx(lme4[("days_restricted", None)]["vcov"], rel=1e-4)
    assert cov_re[0, 1] == pytest.approx(lme4[("(Intercept)", "days_restricted")]["vcov"], rel=1e-4)
    correlation = cov_re[0, 1] / np.sqrt(cov_re[0, 0] * cov_re[1, 1])
    assert correlation == pytest.approx(lme4[("(Intercept)", "days_restricted")]["sdcor"], abs=1e-4)


def test_uncorrelated_variances_agree_and_are_independent(fits):
    fit = fits["restricted_uncorrelated"]
    lme4 = lme4_variances("restricted_uncorrelated")
    # A 1 x 1 random-effects matrix plus one variance component: no covariance is estimated.
    assert fit.cov_re.shape == (1, 1) and fit.model.k_vc == 1
    assert fit.cov_re.iloc[0, 0] == pytest.approx(lme4[("(Intercept)", None)]["vcov"], rel=1e-4)
    assert fit.vcomp[0] == pytest.approx(lme4[("days_restricted", None)]["vcov"], rel=1e-4)
