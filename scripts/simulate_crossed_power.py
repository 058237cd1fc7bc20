"""Power of chapter 9's crossed participants-by-faces design, by simulation (chapter 11).

    nice python scripts/simulate_crossed_power.py      # writes data/simulations/crossed-power.csv

Each replication draws NEW participants and NEW faces from the model that made chapter 9's
data (scripts/simulate_crossed_ratings.py: its true values, smiling effect 6 rating points),
fits chapter 9's crossed model with an uncorrelated by-participant slope by REML (lme4's
`rating ~ cond + (1 | stimulus) + (1 + cond || participant)`), and tests the smiling effect
twice: statsmodels' Wald z test and lmerTest's Satterthwaite t test (course.satterthwaite).

Replication r of design d uses its own generator, np.random.default_rng([SEED, d, r]), so any
row can be re-run alone (tests/test_crossed_power.py and the chapter do). The fit is
Nelder-Mead followed by course.fit_tight (whose estimates agree to about twelve digits on
every CPU kernel), with the tight fit alone as a fallback. About 6 minutes of CPU on one
core (see data/simulations/README.md). The same functions are printed in chapter 11; the
test checks that the chapter's copies are these, verbatim.
"""

from __future__ import annotations

import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chapters"))
sys.path.insert(0, str(ROOT / "scripts"))

from simulate_crossed_ratings import TRUE_VALUES  # noqa: E402

import course  # noqa: E402

SEED = 20261201
OUTPUT = ROOT / "data" / "simulations" / "crossed-power.csv"

# (participants, faces, smiling effect in rating points, replications). The first four
# double the participants, the faces or both, starting from 20 x 10; each doubling adds
# the same number of ratings. The last design has no effect: its "power" is the test's
# false-positive rate.
DESIGNS = [
    (20, 10, 6.0, 150),
    (40, 10, 6.0, 150),
    (20, 20, 6.0, 150),
    (40, 20, 6.0, 150),
    (20, 10, 0.0, 300),
]

# Chapter 9's model with an uncorrelated by-participant slope, as variance components of
# one group that spans all rows.
VARIANCE_COMPONENTS = {
    "participant": "0 + C(participant)",
    "participant_cond": "0 + C(participant):cond",
    "stimulus": "0 + C(stimulus)",
}


def simulate_crossed_study(n_participants, n_faces, effect, rng, truth=TRUE_VALUES):
    """One study: new participants and new faces, the second half of the faces smiling."""
    z = rng.standard_normal((n_participants, 2))
    u0 = truth["sd_participant"] * z[:, 0]
    rho = truth["rho"]
    u1 = truth["sd_participant_slope"] * (rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1])
    w0 = truth["sd_stimulus"] * rng.standard_normal(n_faces)
    cond = np.where(np.arange(n_faces) >= n_faces // 2, 0.5, -0.5)
    noise = truth["sd_residual"] * rng.standard_normal((n_participants, n_faces))
    rating = truth["mu"] + u0[:, None] + w0 + (effect + u1[:, None]) * cond + noise
    return pd.DataFrame(
        {
            "participant": np.repeat(np.arange(n_participants), n_faces),
            "stimulus": np.tile(np.arange(n_faces), n_participants),
            "cond": np.tile(cond, n_participants),
            "rating": rating.ravel(),
            "everyone": 1,
        }
    )


# A variance component is at the boundary when its SD is below 1% of the residual SD. The
# rule is unit-free, and statsmodels needs one this loose: it optimises the SDs, where the
# REML criterion is flat near zero, and can stop anywhere below about 0.001 of the residual
# SD when the optimum is 0. (lme4 reaches 0 exactly; its isSingular() uses 1e-4.)
BOUNDARY_RELATIVE_SD = 0.01


def fit_crossed_model(model):
    """REML fit: the first of four attempts that converges with consistent estimates.

    Nelder-Mead, then course.fit_tight from where it stopped; the tight fit alone;
    Nelder-Mead alone; Powell alone. Returns (fit, how), or (None, "failed") when every
    attempt raises, reports no convergence or gives fixed effects that are not the GLS
    estimates at its own variances (a polish that went wrong can return such a fit).
    Nelder-Mead first, because in these small designs BFGS alone can stop, and report
    convergence, at a point whose REML log-likelihood is below the boundary optimum's.
    """
    attempts = [
        (
            "Nelder-Mead, then tight",
            lambda: course.fit_tight(
                model, start_params=model.fit(method=["nm"], maxiter=5000).params_object
            ),
        ),
        ("tight", lambda: course.fit_tight(model)),
        ("Nelder-Mead", lambda: model.fit(method=["nm"], maxiter=5000)),
        ("Powell", lambda: model.fit(method=["powell"], maxiter=5000)),
    ]
    for how, attempt in attempts:
        try:
            fit = attempt()
            gls, _ = model.get_fe_params(fit.cov_re, fit.vcomp)
        except (np.linalg.LinAlgError, ValueError):
            continue
        if fit.converged and np.allclose(fit.fe_params, gls, rtol=1e-6, atol=1e-6):
            return fit, how
    return None, "failed"


def analyse_crossed_study(data):
    """Fit the crossed model by REML, classify the fit, and test the smiling effect (z and t)."""
    model = smf.mixedlm(
        "rating ~ cond", data, groups="everyone", re_formula="0", vc_formula=VARIANCE_COMPONENTS
    )
    with warnings.catch_warnings():
        # Not counted: the rules decide, and a boundary fit warns as well.
        warnings.simplefilter("ignore")
        fit, how = fit_crossed_model(model)
        if fit is None:
            return {
                "fit": how,
                "boundary": "",
                "estimate": np.nan,
                "se": np.nan,
                "p_z": np.nan,
                "df_satterthwaite": np.nan,
                "p_satterthwaite": np.nan,
            }
        relative_sd = np.sqrt(fit.vcomp / fit.scale)
        at_zero = [
            name
            for name, value in zip(model.exog_vc.names, relative_sd)
            if value < BOUNDARY_RELATIVE_SD
        ]
        test = course.satterthwaite(fit).loc["cond"]
    # lme4's standard error, sqrt(c' Cov(beta) c): statsmodels' bse_fe in these balanced
    # designs, but bse_fe can be NaN on the boundary. z = estimate / SE, as statsmodels prints.
    z = test["Estimate"] / test["Std.Err."]
    return {
        "fit": how,
        "boundary": " ".join(at_zero),
        "estimate": test["Estimate"],
        "se": test["Std.Err."],
        "p_z": 2 * stats.norm.sf(abs(z)),
        "df_satterthwaite": test["df"],
        "p_satterthwaite": test["P>|t|"],
    }


def replicate(design: int, replication: int) -> dict:
    """Row ``replication`` of design number ``design`` (an index into DESIGNS)."""
    n_participants, n_faces, effect, _ = DESIGNS[design]
    rng = np.random.default_rng([SEED, design, replication])
    data = simulate_crossed_study(n_participants, n_faces, effect, rng)
    return {
        "design": design,
        "participants": n_participants,
        "faces": n_faces,
        "effect": effect,
        "replication": replication,
        **analyse_crossed_study(data),
    }


COLUMNS = [
    "design",
    "participants",
    "faces",
    "effect",
    "replication",
    "fit",
    "boundary",
    "estimate",
    "se",
    "p_z",
    "df_satterthwaite",
    "p_satterthwaite",
]


def format_value(value) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.10g}"
    return str(value)


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.process_time()
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for design, (n_participants, n_faces, effect, replications) in enumerate(DESIGNS):
            for replication in range(replications):
                row = replicate(design, replication)
                writer.writerow([format_value(row[column]) for column in COLUMNS])
            print(
                f"design {design} ({n_participants} x {n_faces}, effect {effect}): "
                f"{replications} replications, {time.process_time() - start:.0f} s CPU so far",
                flush=True,
            )
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
