"""Re-execute notebooks in place, top to bottom in a fresh kernel, as the tests expect.

    python scripts/refresh_notebooks.py                   # every chapter
    python scripts/refresh_notebooks.py chapters/02-*.ipynb

Each notebook runs in its own folder with one BLAS/OpenMP thread, the same
conditions as the nbval tests, so the stored outputs are the ones the tests compare.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from environment import pin_environment  # noqa: E402

pin_environment()

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402


def execute(path: Path):
    """Run a notebook top to bottom in a fresh kernel in its own folder; return it and the seconds."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # The kernel may split one cell's printout into several messages depending on
        # timing; joining them keeps a refresh of an unchanged notebook byte-identical.
        coalesce_streams=True,
    )
    client.execute()
    return notebook, time.perf_counter() - start


def refresh(path: Path) -> float:
    notebook, elapsed = execute(path)
    for cell in notebook.cells:
        # Execution timestamps change on every run and mean nothing to a reader.
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        seconds = refresh(path.resolve())
        print(f"{path}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
