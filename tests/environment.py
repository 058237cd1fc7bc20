"""Conditions under which notebooks run, shared by the tests and the refresh script."""

import os

# One thread per BLAS/OpenMP pool, so the last printed digit never depends on the
# number of cores; a fixed backend and no user configuration for the same reason.
PINNED = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def pin_environment() -> None:
    os.environ.update(PINNED)
    # A lone notebook downloads its helpers and data from here; tests never need it.
    os.environ.pop("COURSE_BASE_URL", None)
