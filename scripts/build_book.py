"""Build the book: the one place that says how (used by build-site.sh, the tests' build,
the student edition and the benchmark).

    python scripts/build_book.py                    the course, into _build/html
    python scripts/build_book.py --student          the student edition, into
                                                    _build/student/_build/html
    python scripts/build_book.py --output DIR ...   into DIR/_build/html; other arguments
                                                    go to jupyter-book

Warnings are errors (-W), references are checked (-n) and every warning of a build is
reported (--keep-going). The math is typeset by the MathJax pinned in package.json, so the
npm packages are installed first (``npm ci``, again whenever package-lock.json changes).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_FLAGS = ("-W", "-n", "--keep-going")
STAMP = ROOT / "node_modules" / ".package-lock.sha256"


def ensure_node_packages() -> None:
    """``npm ci`` once per change of package-lock.json (MathJax for the build, axe-core and
    Lighthouse for the tests). Install scripts are not run: none of the three needs one."""
    wanted = hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text().strip() == wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "npm is needed to install MathJax for the build (Debian: apt-get install nodejs npm)"
        )
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(wanted + "\n")


def command(output: Path | None, extra: tuple[str, ...] = ()) -> list[str]:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    where = ("--path-output", str(output)) if output is not None else ()
    return [str(jupyter_book), "build", str(ROOT), *BUILD_FLAGS, *where, *extra]


def build(
    output: Path | None = None,
    extra: tuple[str, ...] = (),
    *,
    student: bool = False,
    capture: bool = True,
) -> subprocess.CompletedProcess:
    """Build into ``output``/_build/html (default: the repository's _build/html)."""
    ensure_node_packages()
    with tempfile.TemporaryDirectory() as scratch:
        if student:
            sys.path.insert(0, str(ROOT / "scripts"))
            import student_edition

            config = Path(scratch) / "student.yml"
            student_edition.main(["student_edition.py", str(config)])
            extra = ("--config", str(config), *extra)
        return subprocess.run(command(output, extra), capture_output=capture, text=True, cwd=ROOT)


def main(argv: list[str]) -> int:
    student = "--student" in argv
    argv = [a for a in argv if a != "--student"]
    output = None
    if "--output" in argv:
        index = argv.index("--output")
        output = Path(argv[index + 1])
        del argv[index : index + 2]
    elif student:
        output = ROOT / "_build" / "student"
    result = build(output, tuple(argv), student=student, capture=False)
    if result.returncode == 0:
        where = (output or ROOT) / "_build" / "html" / "index.html"
        print(f"Site: {where}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
