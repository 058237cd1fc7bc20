#!/usr/bin/env bash
# Run every test: nbval on each chapter, the data, helper, reference and site tests,
# a warnings-as-errors book build and the real-browser tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-environment.sh
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"
