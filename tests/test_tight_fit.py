"""The course's tight fit (course.fit_tight) gives the same estimates on every CPU kernel.

With OpenBLAS's Haswell kernel, BFGS with gtol=1e-8 stops short on the ML sleepstudy model
with correlated slopes and raises a ConvergenceWarning; the estimates of other kernels
differ in the seventh digit. fit_tight must fit that model without a warning, to the same
estimates as this machine's own kernel, to far more digits than any chapter prints.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

import course

CHAPTERS = Path(course.__file__).resolve().parent

# Run in a fresh interpreter, because OpenBLAS reads OPENBLAS_CORETYPE once, when loaded.
PROBE = """
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, statsmodels.formula.api as smf
import course
sleep = course.load_sleepstudy()
model = lambda: smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
with warnings.catch_warnings(record=True) as plain:
    warnings.simplefilter("always")
    model().fit(reml=False, method="bfgs", gtol=1e-8)
with warnings.catch_warnings(record=True) as tight:
    warnings.simplefilter("always")
    fit = course.fit_tight(model(), reml=False)
print(json.dumps({
    "plain_warnings": [str(w.message) for w in plain],
    "tight_warnings": [str(w.message) for w in tight],
    "params": [float(x) for x in np.r_[fit.fe_params, np.asarray(fit.cov_re).ravel(), fit.scale]],
}))
"""


@functools.cache
def probe(kernel: str | None) -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(CHAPTERS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not has_avx2(), reason="the Haswell kernel needs a CPU with AVX2")
def test_tight_fit_is_the_same_under_the_haswell_kernel_without_a_warning():
    native, haswell = probe(None), probe("Haswell")
    # The condition the fix is for: plain BFGS does stop short under Haswell.
    assert any("failed to converge" in m for m in haswell["plain_warnings"]), haswell
    assert haswell["tight_warnings"] == [] and native["tight_warnings"] == []
    np.testing.assert_allclose(haswell["params"], native["params"], rtol=1e-9)


def test_tight_fit_is_the_same_under_the_generic_kernel():
    native, prescott = probe(None), probe("Prescott")
    assert prescott["tight_warnings"] == []
    np.testing.assert_allclose(prescott["params"], native["params"], rtol=1e-9)


def test_tight_fit_reaches_a_zero_score():
    sleep = course.load_sleepstudy()
    model = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    fit = course.fit_tight(model, reml=True)
    assert np.max(np.abs(model.score(fit.params_object, profile_fe=False))) < 1e-9


def test_tight_fit_warns_when_the_gradient_stays_above_what_matters(monkeypatch):
    sleep = course.load_sleepstudy()
    monkeypatch.setattr(course, "GRADIENT_THAT_MATTERS", 0.0)
    model = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject")
    with pytest.warns(ConvergenceWarning, match="tight fit stopped at a gradient"):
        course.fit_tight(model, reml=True)


def test_tight_fit_passes_other_warnings_on():
    # In seconds the variances are tiny and statsmodels warns about the boundary; that
    # warning is the chapters' to explain and must not be swallowed.
    sleep = course.load_sleepstudy()
    seconds = sleep.assign(Reaction=sleep["Reaction"] / 1000)
    model = smf.mixedlm("Reaction ~ Days", seconds, groups="Subject", re_formula="Days")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        course.fit_tight(model, reml=True)
    assert any("boundary" in str(w.message) for w in caught), [str(w.message) for w in caught]


def simulated_from_sleepstudy_fit(n_sets: int, seed: int):
    """Data sets drawn from the marginal distribution of the correlated REML sleepstudy fit."""
    sleep = course.load_sleepstudy()
    fit = course.fit_tight(
        smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    )
    design = np.column_stack([np.ones(len(sleep)), sleep["Days"]])
    covariance = np.zeros((len(sleep), len(sleep)))
    for subject in sleep["Subject"].unique():
        rows = np.flatnonzero(sleep["Subject"] == subject)
        covariance[np.ix_(rows, rows)] = design[rows] @ np.asarray(fit.cov_re) @ design[
            rows
        ].T + fit.scale * np.eye(len(rows))
    factor = np.linalg.cholesky(covariance)
    mean = design @ np.asarray(fit.fe_params)
    rng = np.random.default_rng(seed)
    return [
        sleep.assign(Reaction=mean + factor @ rng.standard_normal(len(sleep)))
        for _ in range(n_sets)
    ]


def test_tight_fit_escapes_the_saddle_where_bfgs_stops():
    """On some data sets BFGS stops where a Cholesky diagonal element is zero, several
    log-likelihood units short; fit_tight must notice (gradient in the covariance
    parameters) and reach the optimum that L-BFGS from statsmodels' default start finds."""
    saddles = 0
    for data in simulated_from_sleepstudy_fit(12, 20261201):
        model = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula="Days")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain = model.fit(method=["bfgs", "lbfgs"], gtol=1e-8)
            other = model.fit(method="lbfgs")
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            tight = course.fit_tight(model)
        gradient = np.abs(model.score(tight.params_object, profile_fe=False)).max()
        assert gradient < course.GRADIENT_THAT_MATTERS
        assert tight.llf >= max(plain.llf, other.llf) - 1e-6
        saddles += plain.llf < tight.llf - 1
    # The test is only worth having if some data sets trip plain BFGS (4 of these 12 do).
    assert saddles >= 2
