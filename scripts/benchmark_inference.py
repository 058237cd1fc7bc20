"""Time course.satterthwaite() on the course's models, and the parametric bootstrap.

    .venv/bin/python scripts/benchmark_inference.py

Runs with one BLAS/OpenMP thread, as the tests and the notebook refresh do. Each
Satterthwaite table is timed as the best of five calls (the model is already fitted;
the time is the table's own), the bootstrap helpers once each. Nothing is written.
Wall-clock seconds on this machine: compare only with runs on the same machine.

Measured on the 2-core machine of the README's table while it was heavily shared (load
average 10-14), so these are upper bounds:

    Satterthwaite table: sleepstudy models 0.02-0.07 s; crossed rating study (1200 rows,
    70 or 110 random effects) 0.19 s and 0.49 s
    bootstrap_lrt, (1 | Subject) vs (Days || Subject): 100 draws in 1.5-3.0 s (15-30 ms a
    draw, two refits each)
    one statsmodels fit of (Days | Subject), for comparison: 0.46 s

(Before the refits computed their own finite-difference gradient, a draw took 35 ms at
load 3 and 100 ms at load 12.)
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chapters"))
import course  # noqa: E402

CROSSED = {"participant": "0 + C(participant)", "stimulus": "0 + C(stimulus)"}


def fits() -> dict:
    sleep = course.load_sleepstudy()
    out = {
        f"sleepstudy {name}": result for name, result in course.fit_sleepstudy_models(sleep).items()
    }
    ratings = course.load_dataset("crossed-ratings").assign(everyone=1)
    out["crossed intercepts (1200 rows)"] = smf.mixedlm(
        "rating ~ cond", ratings, groups="everyone", re_formula="0", vc_formula=CROSSED
    ).fit(method=["bfgs", "lbfgs"])
    out["crossed, uncorrelated participant slope"] = smf.mixedlm(
        "rating ~ cond",
        ratings,
        groups="everyone",
        re_formula="0",
        vc_formula={**CROSSED, "participant_cond": "0 + C(participant):cond"},
    ).fit(method=["bfgs", "lbfgs"])
    return out


def best_of(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    results = fits()
    print("Satterthwaite table (best of 5)")
    for name, result in results.items():
        print(f"  {name:45s} {best_of(lambda: course.satterthwaite(result)):7.3f} s")

    sleep = course.load_sleepstudy()
    ml = course.fit_sleepstudy_models(sleep, reml=False, names=["intercepts", "uncorrelated"])
    n_boot = 200
    start = time.perf_counter()
    course.bootstrap_lrt(ml["intercepts"], ml["uncorrelated"], n_boot, np.random.default_rng(1))
    seconds = time.perf_counter() - start
    print(
        f"bootstrap_lrt, (1 | Subject) vs (Days || Subject), {n_boot} draws: "
        f"{seconds:.1f} s ({1000 * seconds / n_boot:.0f} ms per draw, two refits)"
    )
    correlated = course.fit_sleepstudy_models(sleep, names=["correlated"])["correlated"]
    start = time.perf_counter()
    course.bootstrap_interval(correlated, "Days", n_boot, np.random.default_rng(1))
    seconds = time.perf_counter() - start
    print(
        f"bootstrap_interval, (Days | Subject), {n_boot} draws: "
        f"{seconds:.1f} s ({1000 * seconds / n_boot:.0f} ms per draw)"
    )
    start = time.perf_counter()
    smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit(
        method=["bfgs", "lbfgs"]
    )
    print(
        f"for comparison, one statsmodels fit of (Days | Subject): {time.perf_counter() - start:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
