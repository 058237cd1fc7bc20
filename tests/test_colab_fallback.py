"""A chapter opened alone (as on Colab) fetches course.py and its data, and runs unchanged.

The notebook is copied into an empty folder, with no course.py and no data/ beside it.
The repository root is served on 127.0.0.1 in place of the repository's raw-file address
(COURSE_BASE_URL, which the bootstrap cell only sets if it is unset), and the notebook is
executed there: it must run without error, print what is stored in it, and have
downloaded its helper module and data into its folder.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOK = ROOT / "chapters" / "02-random-intercepts.ipynb"


def sanitizers() -> list[tuple[re.Pattern, str]]:
    """The regex/replace pairs of tests/sanitize.cfg, the ones nbval applies."""
    pairs, regex = [], None
    for line in (ROOT / "tests" / "sanitize.cfg").read_text().splitlines():
        if line.startswith("regex:"):
            regex = re.compile(line.split(":", 1)[1].strip())
        elif line.startswith("replace:") and regex is not None:
            pairs.append((regex, line.split(":", 1)[1].strip()))
            regex = None
    return pairs


def text_outputs(notebook: dict) -> list[list[str]]:
    """Per code cell, its text outputs (streams, text/plain, text/html), sanitised."""
    rules = sanitizers()

    def clean(text) -> str:
        text = "".join(text) if isinstance(text, list) else text
        for regex, replace in rules:
            text = regex.sub(replace, text)
        return text

    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        texts = []
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                texts.append(f"{output['name']}: " + clean(output["text"]))
            for mime in ("text/plain", "text/html"):
                if mime in output.get("data", {}):
                    texts.append(f"{mime}: " + clean(output["data"][mime]))
        cells.append(texts)
    return cells


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requested: list[str]

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def repository_server():
    requested: list[str] = []
    handler = functools.partial(
        type("Handler", (RecordingHandler,), {"requested": requested}), directory=str(ROOT)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_lone_notebook_downloads_helpers_and_data_and_reproduces_its_outputs(
    tmp_path, monkeypatch, repository_server
):
    base_url, requested = repository_server
    folder = tmp_path / "colab"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    # Nothing of the course may be found by walking up from the folder either.
    assert not (tmp_path / "data").exists() and not (tmp_path / "course.py").exists()

    monkeypatch.setenv("COURSE_BASE_URL", base_url)
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    assert (folder / "course.py").read_bytes() == (ROOT / "chapters" / "course.py").read_bytes()
    assert (folder / "data" / "sleepstudy.csv").read_bytes() == (
        ROOT / "data" / "sleepstudy.csv"
    ).read_bytes()
    assert "/chapters/course.py" in requested and "/data/sleepstudy.csv" in requested, requested

    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o["output_type"] == "error" or (o["output_type"] == "stream" and o["name"] == "stderr")]
    assert not errors, f"the lone notebook printed errors or warnings: {errors}"

    stored = text_outputs(json.loads(NOTEBOOK.read_text()))
    fresh = text_outputs(json.loads(nbformat.writes(notebook)))
    assert len(fresh) == len(stored)
    for number, (old, new) in enumerate(zip(stored, fresh), start=1):
        assert new == old, f"code cell {number} prints something else when run alone"
