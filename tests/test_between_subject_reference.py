"""Appendix B's between-subject example: lme4's stored standard errors against statsmodels.

On the balanced sleep study with a between-subject indicator, lme4's vcov() formula
sigma^2 (sum_i X_i' V_i^-1 X_i)^-1 evaluated at statsmodels' optimum must reproduce the
stored lme4 standard errors (data/lme4/between-subject-reference.json, made by the R
script beside it), while statsmodels' bse_fe (inverse of the full Hessian) differs for the
additive model and agrees once the model has the Days:group interaction.
"""

import numpy as np
import pytest
import statsmodels.formula.api as smf

import course

REFERENCE = course.load_lme4_reference("between-subject")


def fit(formula):
    sleep = course.load_sleepstudy()
    group_one = REFERENCE["metadata"]["group_one_subjects"]
    data = sleep.assign(group=sleep["Subject"].astype(str).isin(group_one).astype(float))
    model = smf.mixedlm(formula, data, groups="Subject", re_formula="Days")
    return model, course.fit_tight(model)


@pytest.mark.parametrize(
    ("name", "formula"),
    [("additive", "Reaction ~ Days + group"), ("interaction", "Reaction ~ Days * group")],
)
def test_lme4_formula_reproduces_lme4(name, formula):
    _, result = fit(formula)
    lme4 = REFERENCE["models"][name]
    assert result.llf == pytest.approx(lme4["logLik"], abs=1e-6)
    expected = [row["std_error"] for row in lme4["fixed_effects"]]
    np.testing.assert_allclose(np.sqrt(np.diag(course.lme4_vcov(result))), expected, rtol=1e-5)


def test_bse_fe_differs_only_without_the_interaction():
    _, additive = fit("Reaction ~ Days + group")
    lme4_additive = [row["std_error"] for row in REFERENCE["models"]["additive"]["fixed_effects"]]
    ratio = additive.bse_fe.to_numpy() / np.array(lme4_additive)
    assert ratio[2] > 1.1  # the between-subject effect, balanced data notwithstanding
    _, interaction = fit("Reaction ~ Days * group")
    lme4_interaction = [
        row["std_error"] for row in REFERENCE["models"]["interaction"]["fixed_effects"]
    ]
    np.testing.assert_allclose(interaction.bse_fe, lme4_interaction, rtol=1e-5)
