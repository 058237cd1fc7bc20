"""Type I error of the test of Days with and without random slopes (Barr et al., 2013).

    python scripts/simulate_keep_it_maximal.py            # 500 data sets, the stored file
    python scripts/simulate_keep_it_maximal.py 20 out.csv # the first 20 data sets, elsewhere

Each data set has the design of the sleepstudy data (18 subjects, days 0-9) and is drawn
from chapter 4's correlated model, fitted by REML to the full sleepstudy data, but with the
fixed effect of Days set to 0:

    Reaction = b0 + u0[subject] + u1[subject] * Days + e,

(u0, u1) bivariate normal with the fitted SDs and correlation, e normal with the fitted
residual SD. The hypothesis "no effect of Days" is therefore true, and every rejection at
alpha = 0.05 is a false positive. Each data set is analysed three ways:

- ``intercept_z``: random intercepts only, ``(1 | Subject)``, statsmodels' Wald z-test;
- ``maximal_z``: correlated random intercepts and slopes, ``(Days | Subject)``, Wald z;
- ``maximal_satterthwaite``: the same fit, lmerTest's t-test with Satterthwaite's degrees
  of freedom (``course.satterthwaite``).

Every fit is REML, the best of several optimiser runs (``_fit``: the course's tight fit,
and when needed fits started from L-BFGS's and Powell's optima). A row per data set is
written to data/simulations/keep-it-maximal.csv with the three p-values, the slope
estimate, its standard errors, the Satterthwaite degrees of freedom, whether the first
tight fit was the optimum or another run was needed (or all failed), and whether the fit
ended on the boundary (lme4's ``isSingular`` rule: a diagonal element of the relative
Cholesky factor below 1e-4). The first ``N_EXPORTED`` data sets themselves go to
data/simulations/keep-it-maximal-datasets.csv, for R to analyse the same data
(data/lme4/keep-it-maximal-reference.R). Both files are seeded and written with fixed
formatting; each row depends only on its own random stream (``replicate``).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chapters"))

import course  # noqa: E402

SEED = 2013
N_REPLICATIONS = 500
N_EXPORTED = 10
ALPHA = 0.05
SINGULAR_TOLERANCE = 1e-4  # lme4's isSingular() default
N_SUBJECTS = 18
DAYS = np.arange(10.0)

OUTPUT = ROOT / "data" / "simulations" / "keep-it-maximal.csv"
DATASETS = ROOT / "data" / "simulations" / "keep-it-maximal-datasets.csv"
NEAR_BOUNDARY = ROOT / "data" / "simulations" / "keep-it-maximal-near-boundary.csv"

COLUMNS = [
    "replication",
    "intercept_estimate",
    "intercept_se",
    "intercept_p",
    "intercept_status",
    "intercept_singular",
    "maximal_estimate",
    "maximal_se",
    "maximal_z_p",
    "satterthwaite_df",
    "satterthwaite_p",
    "maximal_status",
    "maximal_singular",
]


def true_values(sleep: pd.DataFrame | None = None) -> dict:
    """Chapter 4's correlated model, fitted by REML to the full sleepstudy data (``fit_tight``):
    intercept (ms), SDs of the subjects' intercepts (ms) and slopes (ms per day), their
    correlation, and the residual SD (ms). The fixed slope of the simulation is 0."""
    sleep = course.load_sleepstudy() if sleep is None else sleep
    fit = course.fit_sleepstudy_models(sleep, names=["correlated"])["correlated"]
    sds, correlation = course.sd_correlation(fit.cov_re)
    return {
        "intercept": float(fit.fe_params["Intercept"]),
        "slope": 0.0,
        "sd_intercept": float(sds[0]),
        "sd_slope": float(sds[1]),
        "correlation": float(correlation[0, 1]),
        "sd_residual": float(np.sqrt(fit.scale)),
    }


def simulate_dataset(truth: dict, rng: np.random.Generator) -> pd.DataFrame:
    """One data set of 18 subjects x 10 days (180 rows: Subject, Days, Reaction) from
    ``truth`` (as returned by ``true_values``), drawing from ``rng``."""
    # Correlated pairs built by hand rather than with multivariate_normal, whose matrix
    # factorisation could differ in the last bit between linear-algebra libraries.
    z = rng.standard_normal((N_SUBJECTS, 2))
    rho = truth["correlation"]
    u0 = truth["sd_intercept"] * z[:, 0]
    u1 = truth["sd_slope"] * (rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1])
    noise = truth["sd_residual"] * rng.standard_normal((N_SUBJECTS, DAYS.size))
    reaction = (
        truth["intercept"] + u0[:, None] + (truth["slope"] + u1[:, None]) * DAYS[None, :] + noise
    )
    return pd.DataFrame(
        {
            "Subject": np.repeat([f"S{j + 1:02d}" for j in range(N_SUBJECTS)], DAYS.size),
            "Days": np.tile(DAYS, N_SUBJECTS),
            "Reaction": reaction.ravel(),
        }
    )


def _is_singular(fit) -> bool:
    """lme4's isSingular(): a diagonal element of the relative Cholesky factor of the
    random effects' covariance (cov_re / scale) below 1e-4."""
    relative = np.asarray(fit.cov_re, dtype=float) / fit.scale
    try:
        factor = np.linalg.cholesky(relative)
    except np.linalg.LinAlgError:
        return True
    return bool(np.min(np.diag(factor)) < SINGULAR_TOLERANCE)


AGREE = 1e-4  # REML log-likelihoods closer than this are the same optimum


def _fit(data: pd.DataFrame, re_formula: str):
    """A REML fit at the optimum. Returns ``(fit, status)``: status 0 if the course's tight
    fit (``course.fit_tight``) from statsmodels' default start is the optimum, 1 if another
    attempt found a better one or the tight fit failed, 2 if every attempt failed (fit is
    then None).

    On these data a single optimiser run is not enough. From the default start, BFGS can
    stop far below the optimum (a REML log-likelihood 14 lower, with a slope variance ten
    times too large and a standard error of Days three times too large; when the stored
    file was made, ``course.fit_tight`` could return such a point, and it now retries from
    other optimisers when its gradient is too large); L-BFGS can report convergence at a point a little below
    the optimum; and near the boundary (a correlation at +-1) the tight fit does not
    converge at all. So every fit is also started from L-BFGS's optimum, and when the
    attempts disagree or none converged, Powell's method is tried as well, alone and as the
    start of a tight fit. The converged attempt with the highest REML log-likelihood is
    kept. Away from the boundary it is lme4's optimum (tests/test_keep_it_maximal.py); at
    the boundary statsmodels stops just short of it, and on a few data sets a little below it
    (data/lme4/keep-it-maximal-boundary-reference.R)."""
    import statsmodels.formula.api as smf

    model = smf.mixedlm("Reaction ~ Days", data, groups="Subject", re_formula=re_formula)

    def attempts(method):
        try:
            start = model.fit(method=method)
            return [start, course.fit_tight(model, start_params=start.params_object)]
        except (np.linalg.LinAlgError, ValueError):
            return []

    with warnings.catch_warnings():
        # Failed attempts and boundary fits warn; they are counted in the output instead.
        warnings.simplefilter("ignore")
        first = course.fit_tight(model)
        tried = [first, *attempts("lbfgs")]
        converged = [a for a in tried if a.converged and np.isfinite(a.llf)]
        llfs = [a.llf for a in converged]
        if not first.converged or max(llfs) - min(llfs) > AGREE:
            tried += attempts("powell")
            converged = [a for a in tried if a.converged and np.isfinite(a.llf)]
    if not converged:
        return None, 2
    best = max(converged, key=lambda a: a.llf)
    if first.converged and best.llf - first.llf <= AGREE:
        return first, 0
    return best, 1


def analyse(data: pd.DataFrame) -> dict:
    """The three tests of Days on one data set (a row of the output, without its number).
    ``*_status`` is 0 if the first tight fit was the optimum, 1 if another attempt found it,
    2 for a failed fit (see ``_fit``); a failed fit gives NaN estimates and p-values."""
    row = dict.fromkeys(COLUMNS[1:], np.nan)
    small, row["intercept_status"] = _fit(data, "1")
    if small is not None:
        row["intercept_estimate"] = small.fe_params["Days"]
        row["intercept_se"] = small.bse_fe["Days"]
        row["intercept_p"] = small.pvalues["Days"]
        row["intercept_singular"] = int(_is_singular(small))
    maximal, row["maximal_status"] = _fit(data, "Days")
    if maximal is not None:
        row["maximal_estimate"] = maximal.fe_params["Days"]
        row["maximal_se"] = maximal.bse_fe["Days"]
        row["maximal_z_p"] = maximal.pvalues["Days"]
        row["maximal_singular"] = int(_is_singular(maximal))
        with warnings.catch_warnings():
            # A boundary fit's Hessian is inverted on its positive eigenvalues, with a warning.
            warnings.simplefilter("ignore")
            table = course.satterthwaite(maximal)
        row["satterthwaite_df"] = table.loc["Days", "df"]
        row["satterthwaite_p"] = table.loc["Days", "P>|t|"]
    return row


def simulate(n_replications: int, seed: int = SEED, truth: dict | None = None):
    """Simulate and analyse ``n_replications`` data sets. Returns ``(results, datasets)``:
    one row per data set (columns ``COLUMNS``), and the first ``N_EXPORTED`` data sets
    stacked with a ``replication`` column. Replication i (from 1) uses the i-th stream of
    ``SeedSequence(seed)``, so any replication can be re-run on its own."""
    truth = true_values() if truth is None else truth
    streams = np.random.SeedSequence(seed).spawn(n_replications)
    rows, datasets = [], []
    for i, stream in enumerate(streams, start=1):
        data = simulate_dataset(truth, np.random.default_rng(stream))
        rows.append({"replication": i, **analyse(data)})
        if i <= N_EXPORTED:
            datasets.append(data.assign(replication=i))
    results = pd.DataFrame(rows, columns=COLUMNS)
    exported = pd.concat(datasets, ignore_index=True) if datasets else pd.DataFrame()
    return results, exported


def replicate(i: int, seed: int = SEED, truth: dict | None = None) -> dict:
    """Re-run replication ``i`` (from 1) alone: the same data set and row as in ``simulate``."""
    truth = true_values() if truth is None else truth
    stream = np.random.SeedSequence(seed).spawn(i)[i - 1]
    return {"replication": i, **analyse(simulate_dataset(truth, np.random.default_rng(stream)))}


def rejection_rates(results: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Share of data sets with p < ``alpha`` per test (over the fits that did not fail), with
    its Monte Carlo standard error sqrt(r (1 - r) / n)."""
    rows = {}
    for name, column in [
        ("random intercepts, z", "intercept_p"),
        ("maximal, z", "maximal_z_p"),
        ("maximal, Satterthwaite t", "satterthwaite_p"),
    ]:
        p = results[column].dropna()
        rate = float((p < alpha).mean())
        rows[name] = {
            "fits": len(p),
            "rejections": int((p < alpha).sum()),
            "rate": rate,
            "mc_se": float(np.sqrt(rate * (1 - rate) / len(p))),
        }
    return pd.DataFrame(rows).T


def write_near_boundary_datasets(results: pd.DataFrame, truth: dict, path=NEAR_BOUNDARY) -> None:
    """Write the data sets whose maximal fit is at or near the boundary, for lme4 to check
    (data/lme4/keep-it-maximal-boundary-reference.R). On interior fits of this balanced
    design Satterthwaite's df are 17; the data sets whose df differ from 17 by more than
    0.01 are the boundary and near-boundary ones."""
    near = results.loc[(results["satterthwaite_df"] - 17).abs() > 0.01, "replication"]
    streams = np.random.SeedSequence(SEED).spawn(int(results["replication"].max()))
    frames = [
        simulate_dataset(truth, np.random.default_rng(streams[i - 1])).assign(replication=i)
        for i in near
    ]
    pd.concat(frames, ignore_index=True)[["replication", "Subject", "Days", "Reaction"]].to_csv(
        path, index=False, float_format="%.10g", lineterminator="\n"
    )


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else N_REPLICATIONS
    output = Path(argv[1]) if len(argv) > 1 else OUTPUT
    started = time.process_time()
    results, datasets = simulate(n)
    # Fixed formats: 10 significant digits are far more than the tight fits guarantee
    # across CPUs (about 7), and give the same text on every run on one machine.
    results.to_csv(output, index=False, float_format="%.10g", lineterminator="\n")
    if output == OUTPUT:
        datasets[["replication", "Subject", "Days", "Reaction"]].to_csv(
            DATASETS, index=False, float_format="%.10g", lineterminator="\n"
        )
        write_near_boundary_datasets(results, true_values())
    print(rejection_rates(results).to_string())
    for column in ["intercept_status", "maximal_status", "intercept_singular", "maximal_singular"]:
        print(column, results[column].value_counts().sort_index().to_dict())
    print(f"CPU time: {time.process_time() - started:.0f} s for {n} data sets")


if __name__ == "__main__":
    main(sys.argv[1:])
