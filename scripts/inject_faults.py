"""Plant faults in a copy of the course and report which ones the test suite catches.

    python scripts/inject_faults.py              # every fault, after a clean baseline run
    python scripts/inject_faults.py sanitizer    # only the faults whose name contains this

Each fault is planted in a fresh copy of the repository's tracked files (a throwaway git
repository in a temporary folder, the .venv linked in), its notebook refreshed where the
fault is one a careless author would refresh, and the part of the test suite that should
notice it is run there. A fault is caught when that run fails. The unchanged copy must
pass the same runs first, or a "catch" would mean nothing. Run on demand, not in the test
suite: it re-executes several chapters. The last result is recorded in README.md.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def tracked_copy(parent: Path) -> Path:
    copy = parent / "course"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to((ROOT / ".venv").resolve())
    git = ["git", "-c", "user.name=fault", "-c", "user.email=fault@invalid"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "-A", ":!.venv"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], cwd=copy, check=True)
    return copy


def edit_cell(copy: Path, chapter: str, old: str, new: str, kind: str = "code") -> None:
    path = copy / "chapters" / f"{chapter}.ipynb"
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook["cells"] if c["cell_type"] == kind and old in "".join(c["source"])]
    if len(cells) != 1:
        raise RuntimeError(
            f"{chapter}: {len(cells)} {kind} cells contain {old!r}; update the fault"
        )
    cells[0]["source"] = "".join(cells[0]["source"]).replace(old, new, 1)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def refresh(copy: Path, chapter: str) -> None:
    subprocess.run(
        [PYTHON, "scripts/refresh_notebooks.py", f"chapters/{chapter}.ipynb"],
        cwd=copy,
        check=True,
        capture_output=True,
    )


def mixture_doubled(copy: Path) -> None:
    edit_cell(
        copy,
        "05-model-comparison",
        "return 0.5 * low + 0.5 * stats.chi2.sf(statistic, df_high)",
        "return low + stats.chi2.sf(statistic, df_high)",
    )
    refresh(copy, "05-model-comparison")


def wrong_ddof(copy: Path) -> None:
    # Chapter 11's two-stage test lives in the course's helper module.
    path = copy / "chapters" / "course.py"
    source = path.read_text()
    old = "slopes.std(axis=-1, ddof=1)"
    if source.count(old) != 1:
        raise RuntimeError(
            f"course.py: {source.count(old)} lines contain {old!r}; update the fault"
        )
    path.write_text(source.replace(old, "slopes.std(axis=-1, ddof=0)"))
    refresh(copy, "11-power-by-simulation")


def image_deleted(copy: Path) -> None:
    path = copy / "chapters" / "02-random-intercepts.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        kept = [o for o in cell.get("outputs", []) if "image/png" not in o.get("data", {})]
        if len(kept) < len(cell.get("outputs", [])):
            cell["outputs"] = kept
            break
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def sanitizer_weakened(copy: Path) -> None:
    with open(copy / "tests" / "sanitize.cfg", "a") as config:
        config.write("\n[decimals]\nregex: \\d+\\.\\d+\nreplace: NUMBER\n")
    path = copy / "chapters" / "02-random-intercepts.ipynb"
    text = path.read_text()
    # The subject variance as printed in the model summary, changed in the stored output.
    if text.count("1378.176") < 1:
        raise RuntimeError("02-random-intercepts: 1378.176 not found; update the fault")
    path.write_text(text.replace("1378.176", "1478.176", 1))


def unpinned_requirement(copy: Path) -> None:
    path = copy / "requirements.txt"
    text = path.read_text()
    if "\ntabulate==" not in text:
        raise RuntimeError("requirements.txt has no tabulate pin; update the fault")
    path.write_text(re.sub(r"\ntabulate==\S+", "\ntabulate", text))


def prose_number_changed(copy: Path) -> None:
    # The ICC quoted in chapter 2's prose, not glued: 0.589 becomes 0.598.
    path = copy / "chapters" / "02-random-intercepts.ipynb"
    notebook = json.loads(path.read_text())
    cells = [
        c
        for c in notebook["cells"]
        if c["cell_type"] == "markdown" and "0.589" in "".join(c["source"])
    ]
    if not cells:
        raise RuntimeError("02-random-intercepts: no markdown cell quotes 0.589; update the fault")
    cells[-1]["source"] = "".join(cells[-1]["source"]).replace("0.589", "0.598")
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def reads_outside(copy: Path) -> None:
    outside = copy.parent / "outside" / "extra.txt"
    outside.parent.mkdir()
    outside.write_text("a note kept next to the clone\n")
    path = copy / "chapters" / "02-random-intercepts.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "f0a1b2c3",
            "metadata": {},
            "outputs": [],
            "source": f"print(open({str(outside)!r}).read())",
        }
    )
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    refresh(copy, "02-random-intercepts")


@dataclass
class Fault:
    name: str
    plant: Callable[[Path], None]
    tests: list[str]


def prose_tests() -> list[str]:
    tests = ["tests/test_published_numbers.py"]
    if (ROOT / "tests" / "test_prose_numbers.py").exists():
        tests.append("tests/test_prose_numbers.py")
    return tests


FAULTS = [
    Fault(
        "chapter 5 mixture p-value doubled, outputs refreshed",
        mixture_doubled,
        ["tests/test_independent_numbers.py", "chapters/05-model-comparison.ipynb"],
    ),
    Fault(
        "chapter 11 SD with ddof=0, outputs refreshed",
        wrong_ddof,
        ["tests/test_independent_numbers.py", "chapters/11-power-by-simulation.ipynb"],
    ),
    Fault(
        "figure image deleted from chapter 2",
        image_deleted,
        ["tests/test_test_machinery.py", "chapters/02-random-intercepts.ipynb"],
    ),
    Fault(
        "sanitizer rewrites numbers, a stored number changed",
        sanitizer_weakened,
        ["tests/test_test_machinery.py", "chapters/02-random-intercepts.ipynb"],
    ),
    Fault(
        "unpinned requirement",
        unpinned_requirement,
        ["tests/test_test_machinery.py", "tests/test_binder.py"],
    ),
    Fault("prose number changed (chapter 2's ICC)", prose_number_changed, prose_tests()),
    Fault(
        "chapter 2 reads a file outside the repository, outputs refreshed",
        reads_outside,
        [
            "tests/test_colab_fallback.py::test_lone_chapter_downloads_its_helpers_and_reproduces_its_outputs"
            "[02-random-intercepts]",
            "chapters/02-random-intercepts.ipynb",
        ],
    ),
]


def run_tests(copy: Path, tests: list[str]) -> tuple[bool, str]:
    run = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:xdist", "-q", "--no-header", "-x", *tests],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)
    failed = [line for line in text.splitlines() if line.startswith(("FAILED", "ERROR"))]
    # The first assertion message says what is wrong; the FAILED line says where.
    message = next(
        (
            line[1:].strip()
            for line in text.splitlines()
            if re.match(r"^E\s+\w*(Error|Exception)", line)
        ),
        "",
    )
    summary = (
        f"{failed[0]}\n           {message}" if failed else (text.strip().splitlines() or [""])[-1]
    )
    return run.returncode == 0, summary[:400]


def main(argv: list[str]) -> int:
    chosen = [f for f in FAULTS if not argv or any(a in f.name for a in argv)]
    with tempfile.TemporaryDirectory(prefix="faults-") as scratch:
        base = tracked_copy(Path(scratch) / "baseline")
        tests = sorted({t for f in chosen for t in f.tests})
        passed, summary = run_tests(base, tests)
        if not passed:
            print(f"The unchanged copy fails the tests, so no fault can be judged: {summary}")
            return 2
        results = []
        for number, fault in enumerate(chosen):
            start = time.perf_counter()
            copy = tracked_copy(Path(scratch) / f"fault{number}")
            fault.plant(copy)
            passed, summary = run_tests(copy, fault.tests)
            results.append((fault.name, not passed))
            verdict = "caught" if not passed else "NOT CAUGHT"
            if (
                passed
                and fault.plant is prose_number_changed
                and "tests/test_prose_numbers.py" not in fault.tests
            ):
                summary += " (tests/test_prose_numbers.py, which ties prose numbers to outputs, is not here yet)"
            print(
                f"{verdict:10} {fault.name} ({time.perf_counter() - start:.0f} s)\n           {summary}"
            )
    caught = sum(c for _, c in results)
    print(f"{caught} of {len(results)} faults caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
