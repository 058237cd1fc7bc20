"""The repository address lives in _config.yml; everything else is derived from it."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml

import notebooks
from notebooks import CHAPTERS, ROOT

spec = importlib.util.spec_from_file_location("sync", ROOT / "scripts" / "sync_repository_url.py")
sync = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sync)

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_branch_is_main_and_book_is_at_the_root():
    # Jupyter Book's default branch is master, which would break every launch link.
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["repository"]["path_to_book"] == ""
    assert CONFIG["execute"]["execute_notebooks"] == "off"


def test_raw_url_is_derived_from_config():
    owner_repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    assert sync.raw_base_url() == f"https://raw.githubusercontent.com/{owner_repo}/main"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_notebook_download_address_matches_config(path):
    sources = [cell.source for cell in notebooks.cells(path)]
    found = {m.group(2) for s in sources for m in sync.PATTERN.finditer(s)}
    assert found == {sync.raw_base_url()}, (
        f"{path.name} downloads from {found}; run python scripts/sync_repository_url.py"
    )


def test_baseurl_matches_repository():
    owner, name = CONFIG["repository"]["url"].removeprefix("https://github.com/").split("/")
    assert CONFIG["html"]["baseurl"].rstrip("/") == f"https://{owner}.github.io/{name}"


def test_no_other_file_hard_codes_the_address():
    address = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    allowed = {"_config.yml", "README.md"}
    offenders = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            d for d in subfolders if d not in {".git", "_build", ".venv", "__pycache__"}
        ]
        for filename in files:
            path = Path(folder) / filename
            rel = path.relative_to(ROOT)
            if path.suffix in {".ipynb", ".png", ".csv", ".json"} or str(rel) in allowed:
                continue
            if re.search(re.escape(address), path.read_text(errors="ignore")):
                offenders.append(str(rel))
    assert not offenders, f"these files repeat the repository address: {offenders}"
