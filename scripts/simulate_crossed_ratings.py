"""Simulate the crossed participants-by-stimuli rating study of chapter 9.

    python scripts/simulate_crossed_ratings.py                 # writes data/crossed-ratings.csv
    python scripts/simulate_crossed_ratings.py some/other.csv  # the same bytes, elsewhere

Every participant rates every face on trustworthiness. Half of the faces are smiling and
half neutral, so the face's category varies within participants but between stimuli
(the design of DeBruine & Barr, 2021). The ratings follow

    rating = mu + u0[participant] + w0[stimulus] + (beta + u1[participant]) * cond + e

with cond = -0.5 for neutral and +0.5 for smiling faces, (u0, u1) bivariate normal with
correlation RHO, w0 and e normal. The output is seeded and written with fixed formatting,
so it is the same file byte for byte on every machine (tests/test_crossed_data.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SEED = 2021
N_PARTICIPANTS = 40
N_STIMULI = 30  # the first half neutral, the second half smiling

# The true values the chapter tries to recover (rating points).
TRUE_VALUES = {
    "mu": 50.0,  # grand mean, halfway between the two categories
    "beta": 6.0,  # smiling minus neutral
    "sd_participant": 8.0,  # participants' intercepts
    "sd_stimulus": 5.0,  # faces' intercepts
    "sd_participant_slope": 4.0,  # participants' smiling effects
    "rho": 0.3,  # correlation of a participant's intercept and smiling effect
    "sd_residual": 10.0,
}

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "data" / "crossed-ratings.csv"


def simulate_csv() -> str:
    """The whole CSV file as text (fixed column order, number formats and line ends)."""
    t = TRUE_VALUES
    rng = np.random.default_rng(SEED)
    # Correlated pairs built by hand rather than with multivariate_normal, whose matrix
    # factorisation could differ in the last bit between linear-algebra libraries.
    z = rng.standard_normal((N_PARTICIPANTS, 2))
    u0 = t["sd_participant"] * z[:, 0]
    u1 = t["sd_participant_slope"] * (t["rho"] * z[:, 0] + np.sqrt(1 - t["rho"] ** 2) * z[:, 1])
    w0 = t["sd_stimulus"] * rng.standard_normal(N_STIMULI)
    is_smiling = np.arange(N_STIMULI) >= N_STIMULI // 2
    noise = t["sd_residual"] * rng.standard_normal((N_PARTICIPANTS, N_STIMULI))

    lines = ["participant,stimulus,category,cond,rating"]
    for p in range(N_PARTICIPANTS):
        for s in range(N_STIMULI):
            cond = 0.5 if is_smiling[s] else -0.5
            rating = t["mu"] + u0[p] + w0[s] + (t["beta"] + u1[p]) * cond + noise[p, s]
            category = "smiling" if is_smiling[s] else "neutral"
            lines.append(f"P{p + 1:02d},F{s + 1:02d},{category},{cond:.1f},{rating:.2f}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    output.write_bytes(simulate_csv().encode("ascii"))
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
