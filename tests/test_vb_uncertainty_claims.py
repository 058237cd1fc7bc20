"""Chapter 10's statements on how far variational Bayes understates uncertainty.

The lme4 values (standard errors of the Poisson fit with `log_size` as a covariate, the
offset model without the herd term, and the offset model's profile interval for the herd
SD) are in data/lme4/chapter-claims-reference.json, made by
data/lme4/chapter-claims-reference.R. The VB fits are recomputed here as in the chapter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM, PoissonBayesMixedGLM

import course
from notebooks import load, output_text, prose

CLAIMS = course.load_lme4_reference("chapter-claims")["chapter_10"]
CHAPTER = "10-non-normal-outcomes"


@pytest.fixture(scope="module")
def cbpp():
    return course.load_dataset("cbpp")


def test_vb_log_sd_posterior_sd_is_the_known_effects_value(cbpp):
    """The mean-field posterior SD of log s is close to 1 / sqrt(2 q + 1 / v^2), the
    posterior SD log s would have if the q herd effects were known (closed form: the
    Fisher information of log s from q normal effects is 2 q; the prior adds 1 / v^2),
    for each of three priors: it is set by q and the prior, not by the data."""
    animals = cbpp.loc[cbpp.index.repeat(cbpp["size"]), ["herd", "period", "incidence"]]
    animals = animals.reset_index(drop=True)
    position = animals.groupby(np.repeat(cbpp.index, cbpp["size"])).cumcount().to_numpy()
    animals["case"] = (position < animals["incidence"]).astype(int)
    for v in (0.5, 1.0, 3.0):
        model = BinomialBayesMixedGLM.from_formula(
            "case ~ period", {"herd": "0 + herd"}, animals, vcp_p=v
        )
        fit = model.fit_vb(rng=20240610)
        known_effects = 1 / np.sqrt(2 * 15 + 1 / v**2)
        assert fit.vcp_sd[0] == pytest.approx(known_effects, rel=0.05)


def test_poisson_vb_understates_the_intercept_and_log_size_tenfold(cbpp):
    counts = cbpp.assign(row=[f"row{i}" for i in range(len(cbpp))], log_size=np.log(cbpp["size"]))
    model = PoissonBayesMixedGLM.from_formula(
        "incidence ~ period + log_size", {"herd": "0 + herd", "row": "0 + row"}, counts
    )
    fit = model.fit_vb(rng=1)
    vb_sd = pd.Series(fit.fe_sd, index=model.fep_names)
    se = CLAIMS["poisson_log_size_covariate"]["se"]
    for vb_name, lme4_name in [("Intercept", "(Intercept)"), ("log_size", "log_size")]:
        ratio = vb_sd[vb_name] / se[lme4_name]
        assert 0.05 < ratio < 0.15, (vb_name, ratio)  # "a tenth"
    # "compatible with the 1 of a true offset": within one standard error of 1
    coefficient = CLAIMS["poisson_log_size_covariate"]["fixef"]["log_size"]
    assert abs(coefficient - 1) < se["log_size"]
    text = prose(load(CHAPTER))
    for value in (se["log_size"], se["(Intercept)"], vb_sd["log_size"], vb_sd["Intercept"]):
        assert f"{value:.3f}" in text


def test_poisson_herd_sd_beside_the_row_sd_is_compatible_with_zero():
    """lme4 (offset model): the herd term adds almost nothing to the row term, and the herd
    SD's profile interval starts at zero, although VB's interval excludes zero."""
    gained = CLAIMS["poisson_offset"]["logLik"] - CLAIMS["poisson_offset_row_only"]["logLik"]
    assert 0 <= gained < 0.1
    # Even against a naive chi-square(1) the herd term is far from significant.
    assert stats.chi2.sf(2 * gained, 1) > 0.5
    low, high = CLAIMS["poisson_offset_herd_sd_profile_95"]
    assert low == 0 and low < CLAIMS["poisson_offset"]["sd"]["herd"] < high
    outputs = output_text(load(CHAPTER))
    assert f"herd SD profile 95% interval 0.000 to {high:.3f}" in outputs
    assert f"herd term to the row term {gained:.3f}" in outputs
