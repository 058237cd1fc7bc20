#!/usr/bin/env bash
# Build the site from the outputs stored in the notebooks. Warnings are errors.
#   bash scripts/build-site.sh             the course, into _build/html
#   bash scripts/build-site.sh --student   the student edition (solutions left out),
#                                          into _build/student/_build/html
# Other arguments go to jupyter-book.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-environment.sh
if [ "${1:-}" = "--student" ]; then
  shift
  config=$(mktemp --suffix=.yml)
  trap 'rm -f "$config"' EXIT
  .venv/bin/python scripts/student_edition.py "$config"
  .venv/bin/jupyter-book build . -W -n --keep-going --config "$config" --path-output _build/student "$@"
  echo "Student edition: _build/student/_build/html/index.html"
else
  exec .venv/bin/jupyter-book build . -W -n --keep-going "$@"
fi
