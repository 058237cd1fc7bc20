"""The student edition of the site: every page as in the course, with the solutions left out.

Two uses of this one file:

* ``python scripts/student_edition.py OUTPUT.yml`` writes the student edition's book
  configuration: _config.yml plus this file loaded as a Sphinx extension. Jupyter Book 1
  reads exactly one configuration file, so it is generated from _config.yml rather than
  kept as a second copy that could drift. ``bash scripts/build-site.sh --student`` runs
  this and then ``jupyter-book build . --config OUTPUT.yml --path-output _build/student``.
* As that Sphinx extension it removes every solution from the pages, writes the
  downloadable sources (the page's download button: ``_sources/.../*.ipynb`` and ``.md``)
  without their solutions, and replaces the instructors page, which speaks of the
  solutions and how to hand them out, with a short note for students.

Why not sphinx-exercise's own ``hide_solutions: True``: in sphinx-exercise 1.2.1 it drops
``solution`` and ``solution-start`` directives but not ``solution-end``, so a gated solution
(the form used for solutions with code) leaves an unknown node behind, which stops the
build; and the code cells between start and end would stay on the page. Here solutions are
removed after sphinx-exercise has merged each gated solution into one node, so both forms
go, whole.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = Path(__file__).stem


def student_config(config_path: Path = ROOT / "_config.yml") -> dict:
    config = yaml.safe_load(config_path.read_text())
    sphinx = config.setdefault("sphinx", {})
    local = sphinx.setdefault("local_extensions", {})
    # The generated file lives elsewhere; the course's own extension paths are relative to
    # _config.yml, so they are written out in full.
    for name, path in local.items():
        local[name] = str((config_path.parent / path).resolve())
    local[EXTENSION] = str(Path(__file__).resolve().parent)
    # _config.yml lists the Sphinx extensions itself (to leave out sphinx_thebe); that list
    # replaces the one local_extensions adds to, so this extension joins it there too.
    extensions = sphinx.get("config", {}).get("extensions")
    if extensions is not None and EXTENSION not in extensions:
        extensions.append(EXTENSION)
    config["title"] = f"{config['title']} (student edition)"
    # The canonical address belongs to the full edition; this one is hosted elsewhere.
    config.get("html", {}).pop("baseurl", None)
    return config


INSTRUCTORS = "instructors"
STUDENT_INSTRUCTORS_PAGE = """# For instructors

This is the **student edition** of the course: every chapter and exercise is here, and
the worked solutions are left out, on the pages and in the notebooks you download. Your
instructor decides when and how you see them.

To run the chapters, see {doc}`how-to-run`.
"""

# A solution directive written whole: ```{solution} ... ``` or :::{solution} ... :::
# (the closing fence is the opening one, as MyST requires).
WHOLE_SOLUTION = re.compile(r"(?ms)^([`:]{3,})\{solution\}.*?^\1[ \t]*$\n?")
GATE_START = re.compile(r"(?m)^([`:]{3,})\{solution-start\}")
GATE_END = re.compile(r"(?ms)^([`:]{3,})\{solution-end\}.*?^\1[ \t]*$\n?")


def strip_text(text: str) -> tuple[str, bool]:
    """Markdown without its solutions; the flag says a gated solution is still open."""
    text = WHOLE_SOLUTION.sub("", text)
    start = GATE_START.search(text)
    if not start:
        return text, False
    end = GATE_END.search(text, start.end())
    if end:
        rest, still_open = strip_text(text[end.end() :])
        return text[: start.start()] + rest, still_open
    return text[: start.start()], True


def strip_notebook(notebook: dict) -> dict:
    """The notebook without its solutions: whole solution directives, and every cell
    from a solution-start to its solution-end (the code cells of a gated solution too)."""
    cells, inside = [], False
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if inside:
            end = GATE_END.search(source)
            if not end:
                continue
            source, inside = strip_text(source[end.end() :])
        elif cell["cell_type"] == "markdown":
            source, inside = strip_text(source)
        else:
            cells.append(cell)
            continue
        if source.strip():
            cells.append({**cell, "source": source})
    return {**notebook, "cells": cells}


def write_student_sources(app, exception):
    """The download button serves _sources/: give it the sources without solutions."""
    if exception is not None or app.builder.format != "html":
        return
    sources = Path(app.outdir) / "_sources"
    for path in sources.rglob("*.ipynb"):
        notebook = json.loads(path.read_text())
        path.write_text(json.dumps(strip_notebook(notebook), indent=1, ensure_ascii=False) + "\n")
    for path in sources.rglob("*.md"):
        if path.relative_to(sources).as_posix() == f"{INSTRUCTORS}.md":
            path.write_text(STUDENT_INSTRUCTORS_PAGE)
        else:
            text, _ = strip_text(path.read_text())
            path.write_text(text)


def replace_instructors_page(app, docname, source):
    if docname == INSTRUCTORS:
        source[0] = STUDENT_INSTRUCTORS_PAGE


def setup(app):
    from sphinx.transforms import SphinxTransform
    from sphinx_exercise.nodes import solution_node
    from sphinx_exercise.transforms import MergeGatedSolutions

    class RemoveSolutions(SphinxTransform):
        # After MergeGatedSolutions has turned each solution-start ... solution-end run
        # into a single solution node.
        default_priority = MergeGatedSolutions.default_priority + 1

        def apply(self):
            for node in list(self.document.findall(solution_node)):
                node.parent.remove(node)

    app.setup_extension("sphinx_exercise")
    app.add_transform(RemoveSolutions)
    app.connect("source-read", replace_instructors_page)
    app.connect("build-finished", write_student_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    Path(argv[1]).write_text(yaml.safe_dump(student_config(), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
