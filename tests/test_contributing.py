"""What a contributor relies on: readable notebook diffs (nbdime as git's diff driver),
the citation file, and the written conventions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from notebooks import CHAPTERS, ROOT

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@invalid"]


def git(folder: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.fixture()
def clone_with_nbdime(tmp_path):
    """A small repository with the course's .gitattributes, one chapter committed, and the
    drivers set up by scripts/enable-notebook-diffs.sh (with this environment's nbdime)."""
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "enable-notebook-diffs.sh", tmp_path / "scripts")
    os.symlink(Path(sys.executable).parent.parent, tmp_path / ".venv")
    shutil.copy(CHAPTERS[0], tmp_path / "chapter.ipynb")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "chapter.ipynb", ".gitattributes")
    git(tmp_path, "commit", "-q", "-m", "a chapter")
    subprocess.run(["bash", "scripts/enable-notebook-diffs.sh"], cwd=tmp_path, check=True)
    return tmp_path


def test_notebooks_are_assigned_nbdimes_drivers():
    attributes = subprocess.run(
        ["git", "check-attr", "diff", "merge", "--", "chapters/01-why-hierarchy.ipynb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "diff: jupyternotebook" in attributes and "merge: jupyternotebook" in attributes


def test_git_diff_of_a_notebook_shows_cells_not_json_or_base64(clone_with_nbdime):
    path = clone_with_nbdime / "chapter.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[0].source = notebook.cells[0].source.replace("# ", "# Edited: ", 1)
    figure = next(
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
    figure["data"]["image/png"] = figure["data"]["image/png"][:-8] + "AAAAAAAA"
    nbformat.write(notebook, path)
    # nbdime colours its output whatever git's colour setting; the test reads plain text.
    diff = re.sub(r"\x1b\[[0-9;]*m", "", git(clone_with_nbdime, "diff"))
    assert diff.startswith("nbdiff ")
    assert "## modified /cells/0/source:" in diff and "+# Edited: " in diff
    assert "<snip base64" in diff
    assert max(len(line) for line in diff.splitlines()) < 300, "a diff line holds raw data"


def test_citation_file_names_the_course_and_its_licences():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert citation[key], key
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert citation["title"] == config["title"]
    assert sorted(citation["license"]) == ["CC-BY-4.0", "MIT"]
    licence = (ROOT / "LICENSE.md").read_text()
    assert "CC BY 4.0" in licence and "MIT License" in licence


def test_contributing_guide_names_the_commands_it_asks_for():
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    for command in (
        "scripts/refresh_notebooks.py",
        "scripts/run-tests.sh",
        "scripts/build-site.sh",
        "scripts/enable-notebook-diffs.sh",
        "scripts/strip_cell_metadata.py",
        "ruff check",
        "ruff format",
    ):
        assert command in guide, command
        if command.startswith("scripts/"):
            assert (ROOT / command).exists(), command
