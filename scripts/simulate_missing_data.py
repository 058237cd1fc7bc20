"""Dropout in a sleep-restriction study: the worked example and the simulation of chapter 13.

    python scripts/simulate_missing_data.py              # writes both files below
    python scripts/simulate_missing_data.py --example    # only the worked example's file

Writes
- data/sleepstudy-dropouts.csv: the (Subject, Days) rows that the missing-at-random (MAR)
  dropout rule below removes from the real sleepstudy data with seed EXAMPLE_SEED; the
  chapter's incomplete data set is sleepstudy without these rows, and
  data/lme4/missing-data-reference.R fits lme4 to the same rows.
- data/simulations/missing-data.csv: N_REPLICATIONS simulated studies per dropout mechanism
  (MCAR, MAR, MNAR), each drawn from chapter 4's correlated model fitted by REML to the
  sleepstudy data, with the Days slope estimated four ways (see ``estimate``).

The dropout rule (monotone: a subject who leaves does not come back). From day
FIRST_MISSING_DAY on, a subject still in the study leaves before day t's measurement with
probability DROPOUT_PROBABILITY if
- MAR: the subject's reaction time on day t - 1 (observed) was above THRESHOLD_MS;
- MNAR: the subject's reaction time on day t (which the dropout leaves unobserved) is
  above THRESHOLD_MS;
- MCAR: always, with probability MCAR_PROBABILITY instead (about the same share missing).

Every replication has its own generator, numpy's default_rng([SEED, mechanism, replication]),
so any replication can be re-run alone (the chapter and tests/test_missing_data_reference.py do).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chapters"))
import course  # noqa: E402

SEED = 20261201
EXAMPLE_SEED = 13
N_REPLICATIONS = 300
PROCESSES = 2  # replications are independent; each has its own generator
MECHANISMS = ("MCAR", "MAR", "MNAR")
THRESHOLD_MS = 320.0
DROPOUT_PROBABILITY = 0.5
MCAR_PROBABILITY = 0.15
FIRST_MISSING_DAY = 5
DAYS = np.arange(10)

EXAMPLE_OUTPUT = ROOT / "data" / "sleepstudy-dropouts.csv"
SIMULATION_OUTPUT = ROOT / "data" / "simulations" / "missing-data.csv"


def observed_mask(reaction, uniforms, mechanism, threshold=THRESHOLD_MS):
    """Which values the dropout rule leaves observed: boolean, shape (subjects, 10).

    ``reaction``: shape (subjects, 10), in ms, the complete data; ``uniforms``: shape
    (subjects, 10), uniform(0, 1) draws that decide who leaves; ``threshold``: in ms (MAR
    and MNAR)."""
    observed = np.ones(reaction.shape, dtype=bool)
    for day in range(FIRST_MISSING_DAY, reaction.shape[1]):
        if mechanism == "MAR":
            leaves = (reaction[:, day - 1] > threshold) & (uniforms[:, day] < DROPOUT_PROBABILITY)
        elif mechanism == "MNAR":
            leaves = (reaction[:, day] > threshold) & (uniforms[:, day] < DROPOUT_PROBABILITY)
        elif mechanism == "MCAR":
            leaves = uniforms[:, day] < MCAR_PROBABILITY
        else:
            raise ValueError(f"Unknown mechanism {mechanism!r}")
        observed[:, day] = observed[:, day - 1] & ~leaves
    return observed


def true_model():
    """Chapter 4's correlated model, fitted by REML: (intercept, slope, Cholesky factor, sigma)."""
    sleep = course.load_sleepstudy()
    fit = course.fit_tight(
        smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    )
    intercept, slope = fit.fe_params
    return intercept, slope, np.linalg.cholesky(fit.cov_re.to_numpy()), np.sqrt(fit.scale)


def simulate_study(truth, rng, n_subjects=18):
    """One complete study, shape (subjects, 10), in ms, then the dropout uniforms."""
    intercept, slope, cholesky_factor, residual_sd = truth
    deviations = rng.standard_normal((n_subjects, 2)) @ cholesky_factor.T
    residuals = rng.normal(0.0, residual_sd, size=(n_subjects, len(DAYS)))
    reaction = (intercept + deviations[:, :1]) + (slope + deviations[:, 1:]) * DAYS + residuals
    return reaction, rng.random((n_subjects, len(DAYS)))


def fit_mixed(model):
    """REML fit of ``model`` to its optimum: ``(result, refitted, unpolished)``.

    ``course.fit_tight`` first. statsmodels' optimisers can stall on incomplete data (BFGS
    does on the worked example's), and no single one succeeds on every simulated data set.
    So when the tight fit warns, three more fits are tried (BFGS then Nelder-Mead, L-BFGS,
    Powell; ``refitted`` True), the one with the highest REML log-likelihood is kept, and the
    tight fit restarts from it. Its result replaces the best fit if it is clean and no worse;
    otherwise the best fit stays (``unpolished`` True: typically a fit on the boundary, a
    correlation of +-1, where the score need not vanish)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = course.fit_tight(model)
    if result.converged and not caught:
        return result, False, False
    candidates = [result]
    for method in (["bfgs", "nm"], "lbfgs", "powell"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                candidates.append(model.fit(method=method))
            except (np.linalg.LinAlgError, ValueError):
                continue
    best = max((fit for fit in candidates if np.isfinite(fit.llf)), key=lambda fit: fit.llf)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        polished = course.fit_tight(model, start_params=best.params_object)
    if polished.converged and not caught and polished.llf >= best.llf - 1e-6:
        return polished, True, False
    return best, True, True


def mean_slope(reaction):
    """Average of the rows' least-squares slopes over DAYS (NaN for no rows)."""
    if len(reaction) == 0:
        return np.nan
    return float(course.subject_slopes(DAYS, reaction).mean())


def estimate(reaction, observed):
    """The Days slope (ms per day) four ways, and what the fit of the mixed model said."""
    long = pd.DataFrame(
        {
            "Reaction": np.where(observed, reaction, np.nan).ravel(),
            "Days": np.tile(DAYS, len(reaction)),
            "Subject": np.repeat(np.arange(len(reaction)), len(DAYS)),
        }
    )
    model = smf.mixedlm(
        "Reaction ~ Days", long, groups="Subject", re_formula="Days", missing="drop"
    )
    fit, refitted, unpolished = fit_mixed(model)
    complete = observed.all(axis=1)
    day_means = long.groupby("Days")["Reaction"].mean().reindex(DAYS).to_numpy()
    return {
        "missing_share": 1 - observed.mean(),
        "complete_subjects": int(complete.sum()),
        "full_data": mean_slope(reaction),
        "mixed_model": float(fit.fe_params["Days"]),
        # lme4's SE (its vcov()); statsmodels' bse_fe inverts the full Hessian instead.
        "mixed_model_se_lme4": float(np.sqrt(course.lme4_vcov(fit).loc["Days", "Days"])),
        "mixed_model_bse_fe": float(fit.bse_fe["Days"]),
        "mixed_model_correlation": float(
            fit.cov_re.iloc[0, 1] / np.sqrt(fit.cov_re.iloc[0, 0] * fit.cov_re.iloc[1, 1])
        ),
        "complete_case": mean_slope(reaction[complete]),
        "day_means": mean_slope(day_means[None, :]),
        "mixed_model_refitted": refitted,
        "mixed_model_unpolished": unpolished,
    }


def replicate(truth, mechanism, replication):
    """One row of the simulation: its own generator, so it can be re-run alone."""
    rng = np.random.default_rng([SEED, MECHANISMS.index(mechanism), replication])
    reaction, uniforms = simulate_study(truth, rng)
    row = {"mechanism": mechanism, "replication": replication}
    row.update(estimate(reaction, observed_mask(reaction, uniforms, mechanism)))
    return row


def example_dropouts():
    """The (Subject, Days) rows the MAR rule removes from the real data with EXAMPLE_SEED."""
    sleep = course.load_sleepstudy()
    wide = sleep.pivot(index="Subject", columns="Days", values="Reaction")
    uniforms = np.random.default_rng(EXAMPLE_SEED).random(wide.shape)
    observed = observed_mask(wide.to_numpy(), uniforms, "MAR")
    missing = pd.DataFrame(~observed, index=wide.index, columns=wide.columns).stack()
    return missing[missing].index.to_frame(index=False)[["Subject", "Days"]]


def main(argv):
    EXAMPLE_OUTPUT.write_text(example_dropouts().to_csv(index=False, lineterminator="\n"))
    print(f"wrote {EXAMPLE_OUTPUT.relative_to(ROOT)}")
    if "--example" in argv:
        return
    start = time.perf_counter()
    truth = true_model()
    tasks = [
        (truth, mechanism, replication)
        for mechanism in MECHANISMS
        for replication in range(N_REPLICATIONS)
    ]
    with multiprocessing.Pool(PROCESSES) as pool:
        rows = pool.starmap(replicate, tasks, chunksize=10)
    SIMULATION_OUTPUT.parent.mkdir(exist_ok=True)
    pd.DataFrame(rows).to_csv(
        SIMULATION_OUTPUT, index=False, float_format="%.10g", lineterminator="\n"
    )
    print(f"wrote {SIMULATION_OUTPUT.relative_to(ROOT)} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
