"""Chapter 9's statsmodels fits of the crossed rating study against lme4's.

The lme4 numbers are in data/lme4/crossed-reference.json (made by crossed-reference.R,
stored with 10 significant digits). Two tolerances are checked: the default ``fit()``
the chapter uses, which stops a few digits short of the optimum, and a tight BFGS fit,
which must agree with lme4 to about the precision of the stored numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import course

REFERENCE = course.load_lme4_reference("crossed")
LME4 = REFERENCE["models"]

CROSSED = {"participant": "0 + C(participant)", "stimulus": "0 + C(stimulus)"}
MODELS = {
    # lme4 name: (statsmodels variance components, lme4 label for each component)
    "crossed_intercepts": (
        CROSSED,
        {"participant": "participant:(Intercept)", "stimulus": "stimulus:(Intercept)"},
    ),
    "crossed_uncorrelated_slope": (
        {**CROSSED, "participant_cond": "0 + C(participant):cond"},
        {
            "participant": "participant.1:(Intercept)",
            "participant_cond": "participant:cond",
            "stimulus": "stimulus:(Intercept)",
        },
    ),
}
# (relative tolerance for SDs and SEs, absolute for the REML log-likelihood)
TOLERANCES = {"default": (2e-4, 1e-4), "tight": (1e-6, 1e-5)}
FIT_OPTIONS = {"default": {}, "tight": {"method": "bfgs", "gtol": 1e-10}}


@pytest.fixture(scope="module")
def ratings():
    frame = course.load_dataset("crossed-ratings")
    return frame.assign(everyone=1)


@pytest.fixture(scope="module")
def fits(ratings):
    results = {}
    for name, (vc_formula, _) in MODELS.items():
        model = smf.mixedlm(
            "rating ~ cond", ratings, groups="everyone", re_formula="0", vc_formula=vc_formula
        )
        for how, options in FIT_OPTIONS.items():
            results[name, how] = model.fit(**options)
    return results


def test_reference_was_made_as_documented():
    assert REFERENCE["R_version"] == "4.2.2" and REFERENCE["lme4_version"] == "1.1-31"
    assert REFERENCE["warnings"] == []
    for name, model in LME4.items():
        assert model["REML"] is (not name.endswith("_ML"))
        assert model.get("convergence_messages", []) == [] and not model.get("singular", False)


@pytest.mark.parametrize("how", FIT_OPTIONS)
@pytest.mark.parametrize("name", MODELS)
def test_crossed_fit_matches_lme4(fits, name, how):
    result = fits[name, how]
    reference = LME4[name]
    relative, loglik_abs = TOLERANCES[how]
    assert result.converged
    assert result.model.k_re == 0, "there must be no extra random intercept for the single group"

    # Fixed effects are stored with 10 significant digits (about 1e-8 for 49.8).
    assert result.fe_params["Intercept"] == pytest.approx(
        reference["fixef"]["(Intercept)"], abs=1e-6
    )
    assert result.fe_params["cond"] == pytest.approx(reference["fixef"]["cond"], abs=1e-6)
    assert result.bse_fe["Intercept"] == pytest.approx(reference["se"]["(Intercept)"], rel=relative)
    assert result.bse_fe["cond"] == pytest.approx(reference["se"]["cond"], rel=relative)

    labels = MODELS[name][1]
    sds = dict(zip(result.model.exog_vc.names, np.sqrt(result.vcomp)))
    assert set(sds) == set(labels)
    for component, label in labels.items():
        assert sds[component] == pytest.approx(reference["sd_or_cor"][label], rel=relative), (
            component
        )
    assert np.sqrt(result.scale) == pytest.approx(reference["sd_or_cor"]["Residual"], rel=relative)
    assert result.llf == pytest.approx(reference["logLik"], abs=loglik_abs)


@pytest.mark.parametrize("name", MODELS)
def test_predicted_random_effects_match_lme4(fits, name):
    predicted = next(iter(fits[name, "tight"].random_effects.values()))
    ranef = LME4[name]["ranef"]
    # lme4 names the intercept of (1 + cond || participant) "participant.1".
    participant_intercepts = ranef.get("participant.1", ranef["participant"])["(Intercept)"]
    expected = {f"participant[C(participant)[{p}]]": v for p, v in participant_intercepts.items()}
    expected |= {
        f"stimulus[C(stimulus)[{s}]]": v for s, v in ranef["stimulus"]["(Intercept)"].items()
    }
    if "participant_cond" in MODELS[name][0]:
        slopes = ranef["participant"]["cond"]
        expected |= {f"participant_cond[C(participant)[{p}]:cond]": v for p, v in slopes.items()}
    expected = pd.Series(expected)
    assert set(predicted.index) == set(expected.index)
    np.testing.assert_allclose(predicted[expected.index], expected, atol=1e-5)


def test_participants_only_model_matches_lme4(ratings):
    """The model that ignores the faces, which chapter 9 shows to be overconfident."""
    result = smf.mixedlm(
        "rating ~ cond", ratings, groups="participant", re_formula="1 + cond"
    ).fit()
    reference = LME4["participants_only"]
    assert result.bse_fe["cond"] == pytest.approx(reference["se"]["cond"], rel=1e-4)
    cov = result.cov_re.to_numpy()
    assert np.sqrt(cov[0, 0]) == pytest.approx(
        reference["sd_or_cor"]["participant:(Intercept)"], rel=1e-4
    )
    assert np.sqrt(cov[1, 1]) == pytest.approx(reference["sd_or_cor"]["participant:cond"], rel=1e-4)
    correlation = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    # The default optimiser's precision, like the SDs' 1e-4 relative (achieved: 4e-5).
    assert correlation == pytest.approx(
        reference["sd_or_cor"]["participant:(Intercept):cond"], abs=2e-4
    )
    assert result.llf == pytest.approx(reference["logLik"], abs=1e-4)
    # Ignoring the faces makes the smiling effect look more than twice as precise.
    crossed_se = LME4["crossed_uncorrelated_slope"]["se"]["cond"]
    assert result.bse_fe["cond"] < crossed_se / 2


def test_lme4_correlated_and_uncorrelated_models_agree_on_the_fixed_effects():
    """What chapter 9 claims about the model statsmodels cannot fit."""
    correlated, uncorrelated = LME4["crossed_correlated_slope"], LME4["crossed_uncorrelated_slope"]
    for term in ("(Intercept)", "cond"):
        assert correlated["fixef"][term] == pytest.approx(uncorrelated["fixef"][term], abs=1e-6)
        assert correlated["se"][term] == pytest.approx(uncorrelated["se"][term], rel=1e-4)
    # The extra correlation parameter improves the REML log-likelihood only a little.
    assert 0 < correlated["logLik"] - uncorrelated["logLik"] < 0.5


def test_maximum_likelihood_fit_and_information_criteria_match_lme4(ratings):
    """Appendix A's exercise: statsmodels gives AIC and BIC only for ML fits."""
    model = smf.mixedlm(
        "rating ~ cond", ratings, groups="everyone", re_formula="0", vc_formula=CROSSED
    )
    result = model.fit(reml=False)
    reference = LME4["crossed_intercepts_ML"]
    assert result.llf == pytest.approx(reference["logLik"], abs=1e-4)
    assert result.aic == pytest.approx(reference["AIC"], abs=2e-4)
    assert result.bic == pytest.approx(reference["BIC"], abs=2e-4)
    sds = dict(zip(model.exog_vc.names, np.sqrt(result.vcomp)))
    assert sds["participant"] == pytest.approx(
        reference["sd_or_cor"]["participant:(Intercept)"], rel=2e-4
    )
    assert sds["stimulus"] == pytest.approx(
        reference["sd_or_cor"]["stimulus:(Intercept)"], rel=2e-4
    )
    assert np.sqrt(result.scale) == pytest.approx(reference["sd_or_cor"]["Residual"], rel=2e-4)
    assert np.isnan(model.fit().aic), "statsmodels reports no AIC for a REML fit"
