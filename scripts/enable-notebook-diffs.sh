#!/usr/bin/env bash
# Make git diff and merge this clone's notebooks with nbdime (pinned in requirements.txt):
# a diff then shows changed prose, code and text outputs cell by cell, and images as a
# short checksum instead of pages of base64. .gitattributes assigns the drivers to *.ipynb;
# this sets them up in this clone's .git/config only. Undo with
#   git config --remove-section diff.jupyternotebook
#   git config --remove-section merge.jupyternotebook
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$PWD/.venv/bin"
if [[ ! -x "$bin/git-nbdiffdriver" ]]; then
  echo "nbdime is not installed in .venv: run bash scripts/setup-environment.sh first" >&2
  exit 1
fi
git config diff.jupyternotebook.command "\"$bin/git-nbdiffdriver\" diff"
git config merge.jupyternotebook.driver "\"$bin/git-nbmergedriver\" merge %O %A %B %L %P"
git config merge.jupyternotebook.name "jupyter notebook merge driver"
echo "git now diffs and merges notebooks with nbdime in this clone."
