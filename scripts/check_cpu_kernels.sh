#!/usr/bin/env bash
# Run the notebook part of the suite (nbval on every chapter) under three OpenBLAS CPU
# kernels: the one OpenBLAS picks for this machine, Haswell (AVX2, used by many laptops
# and cloud machines) and Prescott (generic SSE3). The stored outputs must be the same on
# all three. Run on demand, not in every test run (it takes three notebook runs):
#
#     bash scripts/check_cpu_kernels.sh                 # every chapter
#     bash scripts/check_cpu_kernels.sh chapters/05-model-comparison.ipynb
#
# Needs a CPU with AVX2 for the Haswell kernel. Prints one line per kernel and exits
# non-zero if any kernel fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(chapters)
if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    echo "This CPU has no AVX2: the Haswell kernel cannot run here." >&2
    exit 2
fi
status=0
for kernel in native Haswell Prescott; do
    if [ "$kernel" = native ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$kernel; fi
    log=$(mktemp)
    if .venv/bin/python -m pytest -p no:xdist -q --no-header "${targets[@]}" >"$log" 2>&1; then
        echo "$kernel: $(tail -n 1 "$log")"
    else
        status=1
        echo "$kernel: FAILED: $(tail -n 1 "$log")"
        grep -E '^(FAILED|ERROR)' "$log" | sed 's/^/    /'
    fi
    rm -f "$log"
done
exit $status
