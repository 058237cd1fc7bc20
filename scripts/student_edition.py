"""The student edition of the site: every page as in the course, with the solutions left out.

Two uses of this one file:

* ``python scripts/student_edition.py OUTPUT.yml`` writes the student edition's book
  configuration: _config.yml plus this file loaded as a Sphinx extension. Jupyter Book 1
  reads exactly one configuration file, so it is generated from _config.yml rather than
  kept as a second copy that could drift. ``bash scripts/build-site.sh --student`` runs
  this and then ``jupyter-book build . --config OUTPUT.yml --path-output _build/student``.
* As that Sphinx extension it removes every solution from the pages.

Why not sphinx-exercise's own ``hide_solutions: True``: in sphinx-exercise 1.2.1 it drops
``solution`` and ``solution-start`` directives but not ``solution-end``, so a gated solution
(the form used for solutions with code) leaves an unknown node behind, which stops the
build; and the code cells between start and end would stay on the page. Here solutions are
removed after sphinx-exercise has merged each gated solution into one node, so both forms
go, whole.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = Path(__file__).stem


def student_config(config_path: Path = ROOT / "_config.yml") -> dict:
    config = yaml.safe_load(config_path.read_text())
    sphinx = config.setdefault("sphinx", {})
    local_extensions = sphinx.setdefault("local_extensions", {})
    # The generated file is read from elsewhere, so the book's own local extensions (given
    # relative to the book) get absolute paths.
    for name, path in local_extensions.items():
        local_extensions[name] = str((config_path.parent / path).resolve())
    local_extensions[EXTENSION] = str(Path(__file__).resolve().parent)
    # _config.yml lists the Sphinx extensions itself (to leave out sphinx_thebe); that list
    # replaces the one local_extensions adds to, so this extension joins it there too.
    extensions = sphinx.get("config", {}).get("extensions")
    if extensions is not None and EXTENSION not in extensions:
        extensions.append(EXTENSION)
    config["title"] = f"{config['title']} (student edition)"
    # The canonical address belongs to the full edition; this one is hosted elsewhere.
    config.get("html", {}).pop("baseurl", None)
    return config


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    Path(argv[1]).write_text(yaml.safe_dump(student_config(), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
