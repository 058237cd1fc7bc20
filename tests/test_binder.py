"""binder/ holds exactly what the notebooks need at run time, pinned like requirements.txt.

Binder (and anyone who installs binder/requirements.txt) gets the packages the chapters and
chapters/course.py import, every one of their dependencies pinned, and nothing else: no
build or test tool. The pins are the ones this test suite runs with.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import notebooks
from notebooks import CHAPTERS, ROOT

BINDER = ROOT / "binder"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
# Import names whose distribution has another name, for the message when one is missing
# from this environment (installed ones are looked up in their metadata instead).
KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "dateutil": "python-dateutil",
    "yaml": "PyYAML",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "IPython": "ipython",
}
# The notebooks run in an IPython kernel, which every Jupyter environment (Binder's, Colab's,
# a hub's) brings with it; importing from it (IPython.display) needs no pin of its own.
KERNEL_PROVIDED = {"ipython"}
BUILD_AND_TEST_TOOLS = re.compile(
    r"^(jupyter-book|jupytext|sphinx.*|myst-.*|pydata-sphinx-theme|pytest.*|nbval|nbclient|"
    r"playwright|coverage|jupyter-cache|docutils)$"
)


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def binder_pins() -> dict[str, str]:
    pins = {}
    for line in requirement_lines(BINDER / "requirements.txt"):
        match = PIN.match(line)
        assert match, f"binder/requirements.txt: {line!r} is not pinned as name==version"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def top_level_imports(source: str) -> set[str]:
    # IPython syntax (%magics, !shell) becomes plain Python first, as the kernel does it.
    tree = ast.parse(TransformerManager().transform_cell(source))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def third_party_imports() -> dict[str, set[str]]:
    """Import name -> the files that import it, leaving out the standard library and course."""
    local_modules = {p.stem for p in (ROOT / "chapters").glob("*.py")}
    sources = {nb.relative_to(ROOT).as_posix(): "\n".join(notebooks.code(nb)) for nb in CHAPTERS}
    sources["chapters/course.py"] = (ROOT / "chapters" / "course.py").read_text()
    found: dict[str, set[str]] = {}
    for name, source in sources.items():
        for module in top_level_imports(source):
            if module in sys.stdlib_module_names or module in local_modules:
                continue
            found.setdefault(module, set()).add(name)
    return found


def distribution_of(module: str) -> str | None:
    candidates = metadata.packages_distributions().get(module)
    return canonicalize_name(candidates[0]) if candidates else None


def dependency_closure(distributions: set[str]) -> set[str]:
    """The distributions and everything they require on this platform, without extras."""
    seen: set[str] = set()
    stack = list(distributions)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            stack.append(requirement.name)
    return seen


def test_python_is_pinned_to_311():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    assert sys.version_info[:2] == (3, 11), "the pins are tested on Python 3.11"


def test_binder_only_holds_requirements_and_runtime():
    assert sorted(p.name for p in BINDER.iterdir()) == ["requirements.txt", "runtime.txt"]


def test_requirements_txt_includes_binder_and_does_not_repin_it():
    lines = requirement_lines(ROOT / "requirements.txt")
    assert "-r binder/requirements.txt" in lines
    pins = binder_pins()
    for line in lines:
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            assert name not in pins, (
                f"requirements.txt pins {line}; it comes from binder/requirements.txt "
                f"({name}=={pins[name]}), keep it only there"
            )


def test_binder_pins_are_what_the_tests_run_with():
    mismatched = {}
    for name, version in binder_pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            mismatched[name] = f"pinned {version}, installed {installed}"
    assert not mismatched, f"binder/requirements.txt differs from this environment: {mismatched}"


def test_every_imported_package_is_pinned_in_binder():
    pins = binder_pins()
    missing = []
    for module, files in sorted(third_party_imports().items()):
        distribution = distribution_of(module)
        if distribution is None:
            wanted = KNOWN_DISTRIBUTIONS.get(module, module)
            missing.append(
                f"{module} (imported by {sorted(files)}) is not installed here; "
                f"add {wanted}==<version> to binder/requirements.txt and install it"
            )
        elif distribution not in pins and distribution not in KERNEL_PROVIDED:
            missing.append(
                f"{module} (imported by {sorted(files)}) needs {distribution} "
                f"in binder/requirements.txt"
            )
    assert not missing, "\n".join(missing)


def test_binder_is_exactly_the_imports_and_their_dependencies():
    imported = {distribution_of(m) for m in third_party_imports()} - {None} - KERNEL_PROVIDED
    needed = dependency_closure(imported)
    pinned = set(binder_pins())
    assert not needed - pinned, f"dependencies missing from binder/: {sorted(needed - pinned)}"
    assert not pinned - needed, (
        f"binder/ pins packages no notebook needs: {sorted(pinned - needed)}; "
        "build and test tools belong in requirements.txt"
    )


def test_no_build_or_test_tool_in_binder():
    leaked = sorted(name for name in binder_pins() if BUILD_AND_TEST_TOOLS.match(name))
    assert not leaked, f"binder/requirements.txt has build or test tools: {leaked}"


@pytest.mark.parametrize(
    "source",
    [
        "import sklearn.linear_model\n%matplotlib inline\n",
        "from sklearn import linear_model\n!ls\n",
    ],
)
def test_import_parser_sees_through_ipython_syntax(source):
    assert top_level_imports(source) == {"sklearn"}
