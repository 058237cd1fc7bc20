"""Measure what the README promises: notebook run times, build time and site size.

    .venv/bin/python scripts/benchmark.py            # notebooks and build
    .venv/bin/python scripts/benchmark.py --tests    # and the whole test suite

Nothing is written into the repository: notebooks run in memory, the site is built
into a temporary folder. Times are wall-clock seconds on this machine, so compare
them only with runs on the same machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_book  # noqa: E402  (the one place that says how the book is built)
from refresh_notebooks import execute  # noqa: E402  (pins threads as the tests do)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        _, seconds = execute(path)
        print(f"{path.name:45s} {seconds:6.1f} s")

    with tempfile.TemporaryDirectory() as output:
        build_book.ensure_node_packages()  # once, outside the timing
        start = time.perf_counter()
        result = build_book.build(Path(output))
        if result.returncode != 0:
            raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
        html = Path(output) / "_build" / "html"
        print(f"{'book build':45s} {time.perf_counter() - start:6.1f} s")
        print(f"{'_build/html size':45s} {folder_size(html) / 1e6:6.1f} MB")

    if "--tests" in argv:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", "loadfile"], cwd=ROOT
        )
        print(f"{'whole test suite':45s} {time.perf_counter() - start:6.1f} s")
        return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
