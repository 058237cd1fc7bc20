"""Conditional variances of the random effects and prediction intervals, against lme4.

The reference values are in data/lme4/conditional-variance-reference.json, made by
data/lme4/conditional-variance-reference.R (see data/lme4/README.md): lme4's condVar for
every subject of two fits (all data; subject 335 thinned to three days), Henderson's
prediction-error covariances, and prediction-interval ingredients on days 0-9.

Each statsmodels quantity is computed here independently of the chapters (tight fits,
closed forms) and compared with R's; the last tests check that chapters 6 and 8 show the
values they quote.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import course
from notebooks import load, output_text

REFERENCE = course.load_lme4_reference("conditional-variance")
KEPT_DAYS_335 = [0, 1, 6]


def as_matrix(values):
    """A 2 x 2 matrix stored column-major by R."""
    return np.asarray(values, dtype=float).reshape(2, 2, order="F")


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def fits(sleep):
    thinned = sleep[(sleep["Subject"] != "335") | sleep["Days"].isin(KEPT_DAYS_335)]
    return {
        name: (
            data.reset_index(drop=True),
            course.fit_tight(
                smf.mixedlm(
                    "Reaction ~ Days",
                    data.reset_index(drop=True),
                    groups="Subject",
                    re_formula="Days",
                )
            ),
        )
        for name, data in [("full", sleep), ("thinned", thinned)]
    }


def gls_fixed_covariance(result):
    """sigma^2 (sum_j X_j' V_j^-1 X_j)^-1, lme4's vcov(), from statsmodels' estimates."""
    model = result.model
    information = np.zeros((2, 2))
    for group in model.group_labels:
        rows = model.row_indices[group]
        x, z = model.exog[rows], model.exog_re[rows]
        v = z @ result.cov_re.to_numpy() @ z.T + result.scale * np.eye(len(rows))
        information += x.T @ np.linalg.solve(v, x)
    return np.linalg.inv(information)


@pytest.mark.parametrize("name", ["full", "thinned"])
def test_random_effects_cov_equals_lme4s_condvar_for_every_subject(fits, name):
    data, result = fits[name]
    reference = REFERENCE["models"][name]
    assert result.scale == pytest.approx(reference["residual_variance"], rel=1e-6)
    assert set(result.random_effects_cov) == set(reference["subjects"])
    for subject, ref in reference["subjects"].items():
        conditional = result.random_effects_cov[subject].to_numpy()
        np.testing.assert_allclose(
            conditional, as_matrix(ref["conditional_covariance"]), rtol=1e-5, atol=1e-8
        )
        np.testing.assert_allclose(np.sqrt(np.diag(conditional)), ref["conditional_sd"], rtol=1e-5)
        np.testing.assert_allclose(
            result.random_effects[subject].to_numpy(), ref["mode"], rtol=1e-5, atol=1e-5
        )
        assert ref["n"] == int((data["Subject"] == subject).sum())


@pytest.mark.parametrize("name", ["full", "thinned"])
def test_conditional_covariance_closed_form(fits, name):
    """C_j = (G^-1 + Z_j'Z_j / sigma^2)^-1 with each subject's own days (lme4's values)."""
    data, result = fits[name]
    reference = REFERENCE["models"][name]
    g_inverse = np.linalg.inv(as_matrix(reference["random_effects_covariance"]))
    for subject, ref in reference["subjects"].items():
        days = data.loc[data["Subject"] == subject, "Days"].to_numpy(dtype=float)
        z = np.column_stack([np.ones_like(days), days])
        closed_form = np.linalg.inv(g_inverse + z.T @ z / reference["residual_variance"])
        np.testing.assert_allclose(closed_form, as_matrix(ref["conditional_covariance"]), rtol=1e-9)


def test_balanced_design_gives_every_subject_the_same_conditional_covariance():
    subjects = REFERENCE["models"]["full"]["subjects"].values()
    first = as_matrix(next(iter(subjects))["conditional_covariance"])
    for ref in subjects:
        np.testing.assert_allclose(as_matrix(ref["conditional_covariance"]), first, rtol=1e-10)
    thinned = REFERENCE["models"]["thinned"]["subjects"]
    assert thinned["335"]["conditional_sd"][1] > 1.5 * thinned["308"]["conditional_sd"][1]


@pytest.mark.parametrize("name", ["full", "thinned"])
def test_henderson_prediction_error_is_condvar_plus_fixed_effect_part(fits, name):
    """Var(b-hat_j - b_j) = C_j + W_j V_beta W_j' with W_j = C_j Z_j'Z_j / sigma^2, from
    statsmodels' estimates, equals the block of sigma^2 C^-1 (Henderson) that R computed."""
    data, result = fits[name]
    fixed_cov = gls_fixed_covariance(result)
    np.testing.assert_allclose(
        fixed_cov.ravel(order="F"), REFERENCE["models"][name]["vcov_fixed"], rtol=1e-5
    )
    for subject, ref in REFERENCE["models"][name]["subjects"].items():
        days = data.loc[data["Subject"] == subject, "Days"].to_numpy(dtype=float)
        z = np.column_stack([np.ones_like(days), days])
        conditional = result.random_effects_cov[subject].to_numpy()
        weights = conditional @ z.T @ z / result.scale
        henderson = conditional + weights @ fixed_cov @ weights.T
        np.testing.assert_allclose(
            henderson, as_matrix(ref["henderson_covariance"]), rtol=1e-5, atol=1e-8
        )


def test_prediction_interval_ingredients_on_days_0_to_9(fits):
    _, result = fits["full"]
    prediction = REFERENCE["prediction"]
    z = stats.norm.ppf(0.975)
    assert z == pytest.approx(REFERENCE["metadata"]["z"], rel=1e-15)
    design = np.column_stack([np.ones(10), np.arange(10)])
    fixed_cov = result.cov_params().iloc[:2, :2].to_numpy()  # balanced: equals vcov()
    new = prediction["new_subject"]
    np.testing.assert_allclose(
        design @ result.fe_params.to_numpy(), new["population_line"], rtol=1e-9
    )
    np.testing.assert_allclose(
        np.einsum("ij,jk,ik->i", design, result.cov_re.to_numpy(), design),
        new["between_subjects"],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        np.einsum("ij,jk,ik->i", design, fixed_cov, design), new["fixed_effects"], rtol=1e-5
    )
    np.testing.assert_allclose(
        np.sqrt(np.add(new["between_subjects"], new["fixed_effects"]) + new["residual_variance"])
        * z,
        new["half_width"],
        rtol=1e-12,
    )
    for subject, ref in prediction["known_subject"].items():
        conditional = result.random_effects_cov[subject].to_numpy()
        line = design @ (result.fe_params.to_numpy() + result.random_effects[subject].to_numpy())
        np.testing.assert_allclose(line, ref["prediction"], rtol=1e-7)
        variance = np.einsum("ij,jk,ik->i", design, conditional, design)
        np.testing.assert_allclose(variance, ref["conditional_variance"], rtol=1e-5)
        np.testing.assert_allclose(
            z * np.sqrt(variance + result.scale), ref["half_width"], rtol=1e-6
        )
        # Henderson for the subject's line: x'C_j x + x'(I - W_j) V_beta (I - W_j)'x.
        weights = conditional @ design.T @ design / result.scale
        rest = np.eye(2) - weights
        full = variance + np.einsum("ij,jk,ik->i", design, rest @ fixed_cov @ rest.T, design)
        np.testing.assert_allclose(full, ref["henderson_variance"], rtol=1e-5)
        assert np.all(np.asarray(ref["half_width"]) < np.asarray(new["half_width"]))


def test_chapter_6_shows_lme4s_conditional_sds_and_henderson_sds():
    text = output_text(load("06-partial-pooling"))
    full = REFERENCE["models"]["full"]["subjects"]["308"]
    thinned = REFERENCE["models"]["thinned"]["subjects"]
    for value in (
        *full["conditional_sd"],
        *full["henderson_sd"],
        thinned["335"]["conditional_sd"][1],
        thinned["308"]["conditional_sd"][1],
    ):
        assert f"{value:.3f}" in text
    assert "equal lme4's condVar for all 18 subjects (to 1e-6, relative): True" in text


def test_chapter_8_shows_lme4s_known_and_new_half_widths():
    text = output_text(load("08-diagnostics-and-prediction"))
    prediction = REFERENCE["prediction"]
    table = pd.DataFrame(
        {
            "known": prediction["known_subject"]["335"]["half_width"],
            "new": prediction["new_subject"]["half_width"],
        }
    )
    for value in table.to_numpy().ravel():
        assert f"{value:.1f}" in text
    assert text.count("half-widths equal lme4's (to 1e-5, relative): True") == 2


COVERAGE = REFERENCE["coverage"]


def test_coverage_simulation_with_true_parameters_is_nominal():
    # The check of R's simulation code: with beta, G and sigma^2 known, b-hat +/- z SD is an
    # exact 95% interval for b (normal theory), so the simulated share must be 0.95 within
    # Monte Carlo error (3 SEs).
    for term in ("intercept", "slope"):
        known = COVERAGE["known_parameters"][term]
        assert abs(known["coverage"] - 0.95) < 3 * known["mc_se"]


def test_estimated_parameters_make_the_intervals_too_narrow():
    # Plugging in estimates can only lose coverage on average here, and the Henderson SDs,
    # which are never smaller than the conditional SDs, cover at least as often.
    for term in ("intercept", "slope"):
        condvar, henderson = COVERAGE["condvar"][term], COVERAGE["henderson"][term]
        assert condvar["coverage"] < 0.95 - 3 * condvar["mc_se"]
        assert henderson["coverage"] < 0.95 - 3 * henderson["mc_se"]
        assert henderson["coverage"] >= condvar["coverage"]
    assert COVERAGE["replicates"] == 1000


def test_chapter_6_prints_rs_coverage_with_monte_carlo_ses():
    text = output_text(load("06-partial-pooling"))
    assert "R's simulation: 1000 data sets" in text
    assert "one design at one set of parameter values" in text
    for key in ("condvar", "henderson", "known_parameters"):
        for term in ("intercept", "slope"):
            entry = COVERAGE[key][term]
            assert f"{term} {100 * entry['coverage']:.1f}% ({100 * entry['mc_se']:.1f})" in text
