"""ruff (pinned in requirements.txt, configured in ruff.toml) finds no lint error and no
unformatted code in the Python files and the notebooks' code cells."""

from __future__ import annotations

import subprocess
import sys

import pytest

from notebooks import ROOT

COMMANDS = {
    "lint": ["check", "--no-cache", "--output-format", "concise", "."],
    "format": ["format", "--no-cache", "--check", "."],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_ruff(name):
    command = [sys.executable, "-m", "ruff", *COMMANDS[name]]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, (
        f"ruff {name} failed; fix with: .venv/bin/ruff check --fix . && .venv/bin/ruff format .\n"
        + (result.stdout + result.stderr)[-6000:]
    )
