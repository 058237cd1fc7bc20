"""Write the repository address from _config.yml into every chapter's first cell.

A notebook opened alone (Colab) downloads the course's helper module and data from
the repository's raw files; that address is derived from ``repository.url`` and
``repository.branch`` in _config.yml. After changing those (a fork, a new home), run

    python scripts/sync_repository_url.py

and commit the notebooks. tests/test_repository_url.py fails until this is done.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The call may span lines (ruff formats it so when the address is long).
PATTERN = re.compile(r'(os\.environ\.setdefault\(\s*"COURSE_BASE_URL",\s*")([^"]+)("\s*,?\s*\))')


def raw_base_url(config_path: Path = ROOT / "_config.yml") -> str:
    repository = yaml.safe_load(config_path.read_text())["repository"]
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", repository["url"])
    if not match:
        raise ValueError(f"repository.url {repository['url']!r} is not a GitHub repository address")
    owner, name = match.groups()
    prefix = repository.get("path_to_book", "").strip("/")
    base = f"https://raw.githubusercontent.com/{owner}/{name}/{repository['branch']}"
    return f"{base}/{prefix}" if prefix else base


def main() -> int:
    url = raw_base_url()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        changed = False
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            new = PATTERN.sub(lambda m: m.group(1) + url + m.group(3), source)
            if new != source:
                cell["source"] = new.splitlines(keepends=True)
                changed = True
        if changed:
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            print(f"updated {path.relative_to(ROOT)}")
    print(f"COURSE_BASE_URL = {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
