"""course.satterthwaite() against lmerTest's Satterthwaite t-tests.

The lmerTest values are in data/lme4/satterthwaite-reference.json, made by
satterthwaite-reference.R beside it (lme4 fits with BOBYQA to rhoend = 1e-12). The
statsmodels fits here are run to a gradient tolerance of 1e-8, so that both sides
evaluate the method at the same optimum to about seven digits; what remains is the
numerical differentiation on each side (lmerTest uses numDeriv; sleepstudy's df of
17.000005 against 17 exactly shows its error).

Tolerances: df within 1% relative and p within 5% relative, as the course promises;
in fact agreement is far closer, so the estimates and SEs are held to 1e-6, the degrees
of freedom to 1e-5 and the p-values to 5e-4 as well (achieved: at most 6e-7 in df and
4e-5 in p; the largest p difference is for a p-value of 1e-43, whose far tail is steep
in df).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import course

REFERENCE = course.load_lme4_reference("satterthwaite")
MODELS = REFERENCE["models"]
TIGHT = {"method": "bfgs", "gtol": 1e-8}
PHASE = "C(phase, Treatment('restriction'))"
# lme4's names of the fixed effects -> statsmodels' (patsy puts factors before numbers, so
# rows are matched by name, not position).
TERMS = {
    "(Intercept)": "Intercept",
    "Days": "Days",
    "cond": "cond",
    "phasetraining": f"{PHASE}[T.training]",
}
CROSSED = {"participant": "0 + C(participant)", "stimulus": "0 + C(stimulus)"}


def unbalanced_sleepstudy() -> pd.DataFrame:
    """The R script's unbalanced design (its metadata gives the rule)."""
    sleep = course.load_sleepstudy()
    position = sleep["Subject"].map({s: i for i, s in enumerate(sorted(sleep["Subject"].unique()))})
    kept = sleep[(position + sleep["Days"]) % 4 != 0].copy()
    kept["phase"] = np.where(kept["Days"] < 2, "training", "restriction")
    return kept.reset_index(drop=True)


def fit(name: str):
    """The statsmodels version of each lme4 model in the reference file."""
    if name.startswith("sleepstudy_"):
        data = course.load_sleepstudy()
        formula = "Reaction ~ Days"
    elif name.startswith("unbalanced_"):
        data = unbalanced_sleepstudy()
        formula = f"Reaction ~ Days + {PHASE}"
    else:
        data = course.load_dataset("crossed-ratings").assign(everyone=1)
        formula = "rating ~ cond"
    structure = name.split("_", 1)[1]
    if name.startswith("crossed_"):
        vc = dict(CROSSED)
        if structure == "uncorrelated_slope":
            vc["participant_cond"] = "0 + C(participant):cond"
        model = smf.mixedlm(formula, data, groups="everyone", re_formula="0", vc_formula=vc)
    else:
        arguments = {
            "intercepts": {"re_formula": "1"},
            "correlated": {"re_formula": "Days"},
            "uncorrelated": {"re_formula": "1", "vc_formula": {"Days": "0 + Days"}},
        }[structure]
        model = smf.mixedlm(formula, data, groups="Subject", **arguments)
    return model.fit(reml=True, **TIGHT)


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    name = request.param
    result = fit(name)
    return name, result, course.satterthwaite(result)


def test_design_matches_r(case):
    """Same rows and the same optimum as lme4: otherwise the comparison below is moot."""
    name, result, _ = case
    reference = MODELS[name]
    assert result.nobs == reference["nobs"]
    deviance = course._RemlDeviance(result.model)
    theta = deviance.theta_from_result(result)
    assert deviance.profiled_deviance(theta) == pytest.approx(reference["reml_criterion"], rel=1e-9)
    assert np.sqrt(result.scale) == pytest.approx(reference["sigma"], rel=1e-5)


def test_table_shape(case):
    _, result, table = case
    assert list(table.index) == list(result.fe_params.index)
    assert list(table.columns) == ["Estimate", "Std.Err.", "df", "t", "P>|t|", "[0.025", "0.975]"]


def test_matches_lmertest(case):
    name, _, table = case
    rows = MODELS[name]["satterthwaite"]
    assert len(rows) == len(table)
    for row in rows:
        ours = table.loc[TERMS[row["term"]]]
        assert ours["Estimate"] == pytest.approx(row["estimate"], rel=1e-6)
        assert ours["Std.Err."] == pytest.approx(row["std_error"], rel=1e-6)
        assert ours["t"] == pytest.approx(row["t_value"], rel=1e-6)
        # The promised agreement ...
        assert ours["df"] == pytest.approx(row["df"], rel=0.01)
        # abs=0: pytest's default absolute tolerance (1e-12) would pass any tiny p-value.
        assert ours["P>|t|"] == pytest.approx(row["p_value"], rel=0.05, abs=0)
        # ... and the agreement achieved (numerical differentiation on both sides).
        assert ours["df"] == pytest.approx(row["df"], rel=1e-5)
        assert ours["P>|t|"] == pytest.approx(row["p_value"], rel=5e-4, abs=0)


def test_interval_is_the_t_interval(case):
    """The interval is estimate -/+ t quantile x SE with the table's own df (closed form)."""
    from scipy import stats

    _, _, table = case
    half = stats.t.ppf(0.975, table["df"]) * table["Std.Err."]
    np.testing.assert_allclose(table["[0.025"], table["Estimate"] - half, rtol=1e-12)
    np.testing.assert_allclose(table["0.975]"], table["Estimate"] + half, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in MODELS if "contrast" in MODELS[n]))
def test_contrast_matches_contest1d(name):
    reference = MODELS[name]["contrast"]
    result = fit(name)
    terms = [TERMS[row["term"]] for row in MODELS[name]["satterthwaite"]]
    weights = pd.DataFrame([reference["L"]], columns=terms, index=["day 5"])
    row = course.satterthwaite(result, contrast=weights).loc["day 5"]
    assert row["Estimate"] == pytest.approx(reference["estimate"], rel=1e-6)
    assert row["Std.Err."] == pytest.approx(reference["std_error"], rel=1e-6)
    assert row["df"] == pytest.approx(reference["df"], rel=1e-5)
    assert row["P>|t|"] == pytest.approx(reference["p_value"], rel=5e-4, abs=0)
    # A plain array gives the same row under a generic name.
    plain = course.satterthwaite(result, contrast=weights[list(result.fe_params.index)].to_numpy())
    assert list(plain.index) == ["contrast 1"]
    assert plain.iloc[0]["df"] == pytest.approx(row["df"], rel=1e-12)


def test_unbalanced_se_is_lme4s_not_bse_fe():
    """On unbalanced data statsmodels' bse_fe (from the full Hessian) is not lme4's SE; the
    table reports lme4's, and the difference is real, not rounding."""
    result = fit("unbalanced_correlated")
    table = course.satterthwaite(result)
    rows = MODELS["unbalanced_correlated"]["satterthwaite"]
    reference = pd.Series({TERMS[row["term"]]: row["std_error"] for row in rows})[table.index]
    np.testing.assert_allclose(table["Std.Err."], reference, rtol=1e-6)
    gap = np.abs(result.bse_fe[table.index] / reference - 1)
    assert gap.max() > 1e-4


def test_refuses_ml_fit():
    data = course.load_sleepstudy()
    result = smf.mixedlm("Reaction ~ Days", data, groups="Subject").fit(reml=False)
    with pytest.raises(ValueError, match="REML"):
        course.satterthwaite(result)


def test_refuses_unconverged_fit():
    data = course.load_sleepstudy()
    model = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days")
    with pytest.warns(Warning):
        # Two iterations cannot reach the optimum; statsmodels flags the fit.
        result = model.fit(method="bfgs", maxiter=2)
    assert not result.converged
    with pytest.raises(ValueError, match="converge"):
        course.satterthwaite(result)


def test_refuses_contrast_of_wrong_width():
    result = fit("sleepstudy_intercepts")
    with pytest.raises(ValueError, match="2 columns"):
        course.satterthwaite(result, contrast=[1.0, 0.0, 0.0])


def test_lme4_vcov_is_the_covariance_behind_the_standard_errors():
    """course.lme4_vcov: the p x p matrix whose square-rooted diagonal is the Std.Err. that
    satterthwaite() reports (checked against lme4 in the reference tests), by name."""
    sleep = course.load_sleepstudy()
    fit = course.fit_tight(
        smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    )
    vcov = course.lme4_vcov(fit)
    assert list(vcov.index) == list(vcov.columns) == ["Intercept", "Days"]
    np.testing.assert_allclose(vcov.to_numpy(), vcov.to_numpy().T, rtol=1e-12)
    np.testing.assert_allclose(
        np.sqrt(np.diag(vcov)), course.satterthwaite(fit)["Std.Err."], rtol=1e-12
    )
    with pytest.raises(TypeError, match="MixedLMResults"):
        course.lme4_vcov(smf.ols("Reaction ~ Days", sleep).fit())
