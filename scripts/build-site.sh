#!/usr/bin/env bash
# Build the site from the outputs stored in the notebooks. Warnings are errors.
#   bash scripts/build-site.sh             the course, into _build/html
#   bash scripts/build-site.sh --student   the student edition (solutions left out, on the
#                                          pages and in the downloads), into
#                                          _build/student/_build/html
# Other arguments go to jupyter-book. How the book is built (flags, the npm packages the
# math needs) is written once, in scripts/build_book.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-environment.sh
exec .venv/bin/python scripts/build_book.py "$@"
