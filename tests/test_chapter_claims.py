"""Statements of chapters 5, 6, 8 and 10, checked against lme4 (and glmer) and closed forms.

The reference values are in data/lme4/chapter-claims-reference.json, made by
data/lme4/chapter-claims-reference.R (see data/lme4/README.md). Each test recomputes the
chapter's number with statsmodels (or from a closed form) and compares it with R's, and
checks that the chapter's stored outputs show it, so that prose and outputs cannot drift
apart from the reference.

Fits of the sleepstudy models use the course's tight optimiser setting (BFGS, gtol 1e-8),
with which statsmodels and lme4 agree to about 1e-7 relative in the variance parameters.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.special import gammaln

from conftest import ROOT

try:  # chapters/ is on the path when pytest.ini says so
    import course
except ImportError:
    import course_module

    course = course_module.load()

CLAIMS = course.load_lme4_reference("chapter-claims")
STANDARD = course.load_lme4_reference("sleepstudy")
TIGHT = {"method": "bfgs", "gtol": 1e-8}


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


def output_text(name: str) -> str:
    notebook = json.loads((ROOT / "chapters" / f"{name}.ipynb").read_text())
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append("".join(output["text"]))
            for mime in ("text/plain", "text/html"):
                if mime in output.get("data", {}):
                    parts.append("".join(output["data"][mime]))
    return "\n".join(parts)


def prose(name: str) -> str:
    notebook = json.loads((ROOT / "chapters" / f"{name}.ipynb").read_text())
    return "\n".join(
        "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"
    )


def correlation(result) -> float:
    cov = np.asarray(result.cov_re)
    return float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))


# ---- Chapter 5 --------------------------------------------------------------------------


def test_aic_advantage_of_the_smaller_nested_model_is_two_minus_lr():
    """AIC_larger - AIC_smaller = 2 - LR for models one parameter apart (lme4's ML fits)."""
    models = STANDARD["models"]
    aic_gap = models["correlated"]["ML"]["AIC"] - models["uncorrelated"]["ML"]["AIC"]
    lr = 2 * (models["correlated"]["ML"]["logLik"] - models["uncorrelated"]["ML"]["logLik"])
    assert aic_gap == pytest.approx(2 - lr, abs=1e-9)
    assert 0 < aic_gap <= 2
    text = output_text("05-model-comparison")
    assert f"{aic_gap:.4f} = 2 - LR = 2 - {lr:.4f}" in text
    assert f"P(chi2_1 > 2) = {stats.chi2.sf(2, 1):.4f}" in text


def test_boundary_simulation_supports_the_chapter_text():
    """The 1-df test has LR = 0 about half the time or more; the 2-df test never, and
    shows the boundary as a correlation of +-1 instead (lme4 simulation, 1000 data sets)."""
    sim = CLAIMS["chapter_05"]["boundary_simulation"]
    monte_carlo_se = 0.5 / np.sqrt(sim["n_sim"])
    assert sim["share_lr_zero_1df"] > 0.5 - 2 * monte_carlo_se
    assert sim["share_lr_zero_2df"] == 0
    assert sim["share_correlation_pm1_2df"] > 0.5 - 2 * monte_carlo_se
    # Both tests are conservative, the naive ones more than the mixtures.
    assert sim["reject_1df_naive"] < sim["reject_1df_mixture"] < 0.05
    assert sim["reject_2df_naive"] < sim["reject_2df_mixture"] < 0.05
    text = prose("05-model-comparison")
    for share in ("share_lr_zero_1df", "share_correlation_pm1_2df"):
        assert f"{round(100 * sim[share])}%" in text
    for rate in (
        "reject_1df_naive",
        "reject_2df_naive",
        "reject_1df_mixture",
        "reject_2df_mixture",
    ):
        assert f"{100 * sim[rate]:.1f}%" in text


def test_selection_of_the_uncorrelated_model_depends_on_the_origin(sleep):
    outputs = output_text("05-model-comparison")
    for entry in CLAIMS["chapter_05"]["origins"].values():
        shifted = sleep.assign(days_from=sleep["Days"] - entry["origin"])
        correlated = smf.mixedlm(
            "Reaction ~ days_from", shifted, groups="Subject", re_formula="days_from"
        ).fit(reml=True, **TIGHT)
        uncorrelated = smf.mixedlm(
            "Reaction ~ days_from",
            shifted,
            groups="Subject",
            re_formula="1",
            vc_formula={"d": "0 + days_from"},
        ).fit(reml=True, **TIGHT)
        assert correlated.llf == pytest.approx(entry["correlated_logLik"], rel=1e-9)
        assert uncorrelated.llf == pytest.approx(entry["uncorrelated_logLik"], rel=1e-9)
        assert correlation(correlated) == pytest.approx(entry["correlation"], abs=1e-5)
        lr = 2 * (correlated.llf - uncorrelated.llf)
        assert lr == pytest.approx(entry["lr"], abs=1e-5)
        assert f"{entry['lr']:.4f}" in outputs
    origins = CLAIMS["chapter_05"]["origins"]
    # The selection flips: Matuschek's alpha = 0.2 keeps the correlation from day 2 on.
    assert origins["day_0"]["p_value"] > 0.2
    assert origins["baseline_day_2"]["p_value"] < 0.2
    assert origins["centred_4_5"]["p_value"] < 0.2
    text = prose("05-model-comparison")
    assert f"p = {origins['baseline_day_2']['p_value']:.3f}" in text
    assert f"p = {origins['centred_4_5']['p_value']:.4f}" in text


def test_random_effects_pca_depends_on_the_units_of_the_slope(sleep):
    reference = CLAIMS["chapter_05"]["random_effects_pca"]
    for unit, divisor in [("days", 1), ("weeks", 7)]:
        data = sleep.assign(x=sleep["Days"] / divisor)
        fit = smf.mixedlm("Reaction ~ x", data, groups="Subject", re_formula="x").fit(
            reml=True, **TIGHT
        )
        variances = np.sort(np.linalg.eigvalsh(np.asarray(fit.cov_re) / fit.scale))[::-1]
        np.testing.assert_allclose(np.sqrt(variances), reference[unit]["sd"], rtol=1e-5)
        # lme4 rounds the shares to 5 decimals in summary(rePCA()).
        np.testing.assert_allclose(
            variances / variances.sum(), reference[unit]["proportion"], atol=6e-6
        )
    text = prose("05-model-comparison")
    assert (
        f"{round(100 * reference['weeks']['proportion'][1])}% of the variance instead of "
        f"{round(100 * reference['days']['proportion'][1])}%" in text
    )


# ---- Chapter 10 -------------------------------------------------------------------------


def test_grouped_and_binary_log_likelihoods_differ_by_the_binomial_constant():
    """glmer's grouped and binary-row log-likelihoods differ by sum(log C(n, k)), computed
    here independently of R; their AICs differ by twice that."""
    cbpp = course.load_dataset("cbpp")
    constant = float(
        (
            gammaln(cbpp["size"] + 1)
            - gammaln(cbpp["incidence"] + 1)
            - gammaln(cbpp["size"] - cbpp["incidence"] + 1)
        ).sum()
    )
    ref = CLAIMS["chapter_10"]
    assert constant == pytest.approx(ref["log_binomial_coefficients"], rel=1e-12)
    # The two fits' optima agree to lme4's default optimiser precision (about 1e-5).
    assert ref["grouped_logLik"] - ref["binary_logLik"] == pytest.approx(constant, abs=1e-4)
    assert ref["binary_AIC"] - ref["grouped_AIC"] == pytest.approx(2 * constant, abs=2e-4)
    text = output_text("10-non-normal-outcomes")
    assert f"sum of log binomial coefficients {constant:.4f}" in text


def test_vb_herd_sd_interval_is_narrower_than_lme4s_profile_interval():
    low, high = CLAIMS["chapter_10"]["herd_sd_profile_95"]
    assert low < CLAIMS["chapter_10"]["herd_sd"] < high
    text = output_text("10-non-normal-outcomes")
    assert f"profile 95% interval {low:.3f} to {high:.3f}" in text
    # The VB interval printed by the chapter lies inside lme4's, on both sides.
    vb_low, vb_high = map(
        float, re.search(r"herd SD, VB: .*interval ([\d.]+) to ([\d.]+)", text).groups()
    )
    assert low < vb_low and vb_high < high


def test_poisson_observation_level_and_herd_sds_are_hard_to_separate():
    """The chapter says lme4 puts all extra variation on the rows (herd SD ~ 0, singular),
    while the offset fit and VB keep a herd SD; the quoted values are lme4's."""
    covariate = CLAIMS["chapter_10"]["poisson_log_size_covariate"]
    offset = CLAIMS["chapter_10"]["poisson_offset"]
    assert covariate["singular"] and covariate["sd"]["herd"] < 1e-3
    assert not offset["singular"] and offset["sd"]["herd"] > 0.1
    text = prose("10-non-normal-outcomes")
    for value in (covariate["sd"]["row"], offset["sd"]["herd"], offset["sd"]["row"]):
        assert f"{value:.3f}" in text
    assert "not run here" not in text


# ---- Chapter 8 --------------------------------------------------------------------------


def test_known_subject_prediction_variance_matches_lme4(sleep):
    """statsmodels' random_effects_cov equals lme4's condVar; Henderson's mixed-model
    equations, solved here with statsmodels' estimates, give lme4's full prediction-error
    variance (fixed effects' uncertainty included)."""
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit(
        reml=True, **TIGHT
    )
    reference = CLAIMS["chapter_08"]["known_subject_day_5"]
    x = np.array([1.0, 5.0])
    subjects = sorted(fit.random_effects)
    # Henderson: C = [[X'X, X'Z], [Z'X, Z'Z + sigma^2 G^-1]], PEV = sigma^2 C^-1.
    X = np.column_stack([np.ones(len(sleep)), sleep["Days"]])
    Z = np.zeros((len(sleep), 2 * len(subjects)))
    for j, subject in enumerate(subjects):
        rows = (sleep["Subject"] == subject).to_numpy()
        Z[rows, 2 * j] = 1.0
        Z[rows, 2 * j + 1] = sleep.loc[rows, "Days"]
    G = np.kron(np.eye(len(subjects)), fit.cov_re.to_numpy())
    C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + fit.scale * np.linalg.inv(G)]])
    pev = fit.scale * np.linalg.inv(C)
    for subject, ref in reference.items():
        conditional = fit.random_effects_cov[subject].to_numpy()
        np.testing.assert_allclose(
            conditional.ravel(order="F"), ref["conditional_covariance"], rtol=1e-5
        )
        prediction = x @ (fit.fe_params.to_numpy() + fit.random_effects[subject].to_numpy())
        assert prediction == pytest.approx(ref["prediction"], rel=1e-7)
        j = subjects.index(subject)
        weights = np.r_[x, np.zeros(Z.shape[1])]
        weights[2 + 2 * j : 4 + 2 * j] = x
        assert weights @ pev @ weights == pytest.approx(
            ref["full_prediction_error_variance_at_day"], rel=1e-5
        )
        assert fit.scale == pytest.approx(ref["residual_variance"], rel=1e-6)
    text = output_text("08-diagnostics-and-prediction")
    half_width = stats.norm.ppf(0.975) * np.sqrt(
        reference["308"]["conditional_variance_at_day"] + reference["308"]["residual_variance"]
    )
    assert f"{half_width:.2f}" in text


@pytest.mark.parametrize(
    "entry, drop",
    [
        ("without_subjects_308_332", "subjects"),
        ("without_three_largest_residuals", "points"),
    ],
)
def test_sensitivity_refits_match_lme4(sleep, entry, drop):
    """Chapter 8's exercise refits with L-BFGS, as the chapter does; lme4 agrees to ~1e-4."""
    full = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit()
    if drop == "subjects":
        data = sleep[~sleep["Subject"].isin(["308", "332"])]
    else:
        data = sleep.drop(index=full.resid.abs().nlargest(3).index)
    fit = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days").fit(
        method="lbfgs"
    )
    ref = CLAIMS["chapter_08"][entry]
    assert fit.converged and len(data) == ref["nobs"]
    np.testing.assert_allclose(fit.fe_params, list(ref["fixed_effects"].values()), rtol=1e-6)
    # L-BFGS's default tolerance leaves the variance parameters ~1e-5 relative short.
    np.testing.assert_allclose(fit.bse_fe, list(ref["std_error"].values()), rtol=5e-4)
    assert np.sqrt(fit.scale) == pytest.approx(ref["sigma"], rel=1e-4)
    text = output_text("08-diagnostics-and-prediction")
    assert f"{ref['fixed_effects']['Days']:.3f}" in text and f"{ref['sigma']:.3f}" in text


# ---- Chapter 6 --------------------------------------------------------------------------


def test_held_out_days_are_predicted_better_on_average_by_partial_pooling(sleep):
    """Fit on days 0-7, predict days 8 and 9: statsmodels reproduces lme4's per-subject
    errors, partial pooling wins overall but not for every subject, and loses for 335."""
    ref = CLAIMS["chapter_06"]["held_out_days"]
    train, held_out = sleep[sleep["Days"] <= 7], sleep[sleep["Days"] >= 8]
    fit = smf.mixedlm("Reaction ~ Days", train, groups="Subject", re_formula="Days").fit(
        reml=True, **TIGHT
    )
    lines = course.subject_coefficients(fit).loc[held_out["Subject"]]
    mixed = lines["Intercept"].to_numpy() + lines["Days"].to_numpy() * held_out["Days"].to_numpy()
    own = np.array(
        [
            np.polyval(np.polyfit(rows["Days"], rows["Reaction"], 1), day)
            for subject, day in zip(held_out["Subject"], held_out["Days"])
            for rows in [train[train["Subject"] == subject]]
        ]
    )
    errors = {
        "mixed": (held_out["Reaction"].to_numpy() - mixed) ** 2,
        "own": (held_out["Reaction"].to_numpy() - own) ** 2,
    }
    for name, squared in errors.items():
        per_subject = pd.Series(squared, index=held_out["Subject"]).groupby(level=0).mean()
        np.testing.assert_allclose(per_subject[ref["subjects"]], ref[f"mse_{name}"], rtol=1e-5)
    assert ref["rmse_mixed"] < ref["rmse_own"] < ref["rmse_population"]
    better = np.array(ref["mse_mixed"]) < np.array(ref["mse_own"])
    assert 0.5 < better.mean() < 1
    assert not better[ref["subjects"].index("335")]
    text = output_text("06-partial-pooling")
    assert f"for {better.sum()} of {better.size} subjects" in text
    for name in ("own", "mixed", "population"):
        assert f"{ref[f'rmse_{name}']:.2f}" in text


def test_bend_of_subject_309_comes_from_its_own_estimates_not_the_covariance():
    """With lme4's variance components: W barely changes when the covariance is set to 0,
    and a subject's own intercept and slope correlate at -mean(d) / sqrt(mean(d^2))."""
    fit = STANDARD["models"]["correlated"]["REML"]
    components = {(row["var1"], row["var2"]): row["vcov"] for row in fit["variance_components"]}
    between = np.array(
        [
            [components[("(Intercept)", None)], components[("(Intercept)", "Days")]],
            [components[("(Intercept)", "Days")], components[("Days", None)]],
        ]
    )
    days = np.arange(10.0)
    design = np.column_stack([np.ones(10), days])
    own_precision = design.T @ design / fit["residual_variance"]

    def weights(g):
        return np.linalg.solve(np.linalg.inv(g) + own_precision, own_precision)

    with_cov, without_cov = weights(between), weights(np.diag(np.diag(between)))
    assert abs(with_cov[1, 0] - without_cov[1, 0]) < 0.005
    closed_form = -days.mean() / np.sqrt(np.mean(days**2))
    text = output_text("06-partial-pooling")
    assert f"own intercept and slope estimates: {closed_form:.2f}" in text
    assert f"{without_cov[1, 0]:.3f}" in text and f"{without_cov[0, 0]:.3f}" in text
