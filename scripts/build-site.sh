#!/usr/bin/env bash
# Build the site into _build/html from the outputs stored in the notebooks.
# Warnings are errors. Extra arguments go to jupyter-book (e.g. --config for the student edition).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-environment.sh
exec .venv/bin/jupyter-book build . -W -n --keep-going "$@"
