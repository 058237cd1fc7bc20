"""Shared test set-up: pinned threads for every notebook kernel, and one built site."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

# tests/ and chapters/ are on the import path (pytest.ini's pythonpath).
from environment import pin_environment
from notebooks import CHAPTERS, ROOT  # noqa: F401 (CHAPTERS: kept importable from here)

# Set before any kernel starts: nbval's kernels inherit this process's environment.
pin_environment()


def build_book(output: Path, extra_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Build the book as scripts/build_book.py does (warnings as errors) into ``output``/_build/html."""
    import build_book as book  # scripts/ is on pytest.ini's pythonpath

    return book.build(output, extra_args)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The book built once per test run, shared by all workers (a file lock guards it)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    target = shared / "book"
    html = target / "_build" / "html"
    with open(shared / "book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        log = target / "build.log"
        if not log.exists():
            target.mkdir(parents=True, exist_ok=True)
            result = build_book(target)
            log.write_text(f"returncode={result.returncode}\n{result.stdout}\n{result.stderr}")
        text = log.read_text()
    if not text.startswith("returncode=0\n") or "WARNING" in text or "ERROR" in text:
        pytest.fail("The book build failed or warned:\n" + text[-6000:])
    return html
