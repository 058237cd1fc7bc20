"""Every chapter opened alone (as on Colab) fetches course.py and its data, and runs unchanged.

Each notebook is copied into an empty folder, with no course.py and no data/ beside it and
none to be found above it. A copy of the repository's tracked files (``git ls-files``) is
served on 127.0.0.1 in place of the repository's raw-file address (COURSE_BASE_URL, which
the bootstrap cell only sets if it is unset), and the notebook is executed there. It must
run without error or warning, print what is stored in it (compared as nbval compares:
nbval's own stream merging and sanitizer parsing, text and HTML outputs, images skipped),
have downloaded its helper module from the server, and read no file outside its folder
and the Python installation. So a chapter that needs an untracked file, or a file
outside the repository, fails here although it passes in a clone.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams, get_sanitize_patterns, transform_streams_for_comparison

from conftest import CHAPTERS, ROOT

# nbval's comparison skips these output keys (nbval.plugin.IPyNbFile.skip_compare, images
# included when nbdime is not used, as in this suite).
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)

# Run before the chapter's first cell: record every file the kernel opens from now on.
RECORD_READS = """
import os as _os, sys as _sys
_course_opened = []
def _course_audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, _os.PathLike)):
        _course_opened.append(_os.path.realpath(_os.fsdecode(args[0])))
_sys.addaudithook(_course_audit)
"""
# Run after its last cell: the files opened outside the folder and the Python installation.
REPORT_READS = """
import json as _json, matplotlib as _mpl, site as _site, sysconfig as _sysconfig
_allowed = {_os.path.realpath(p) for p in [_os.getcwd(), _sys.prefix, _sys.base_prefix, _sys.exec_prefix,
            _mpl.get_configdir(), _mpl.get_cachedir(), *_sysconfig.get_paths().values(),
            _site.getuserbase(), _os.path.expanduser("~/.ipython"), _os.path.expanduser("~/.cache/fontconfig")]}
_system = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/share/", "/usr/lib/", "/usr/lib64/", "/lib/")
print(_json.dumps(sorted({p for p in _course_opened if not p.startswith(_system)
                          and not any(p == a or p.startswith(a + _os.sep) for a in _allowed)})))
"""


def sanitize_patterns() -> list[tuple[str, str]]:
    return get_sanitize_patterns((ROOT / "tests" / "sanitize.cfg").read_text())


def comparable(outputs: list, patterns) -> dict[str, list]:
    """A cell's outputs as nbval compares them: streams merged, keyed by stream name or
    MIME type, skipped keys left out, strings sanitised."""

    def clean(value):
        if not isinstance(value, str):
            return value
        for regex, replace in patterns:
            value = re.sub(regex, replace, value)
        return value

    found: dict[str, list] = {}
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP_COMPARE:
                        found.setdefault(mime, []).append(clean(content))
            else:
                found.setdefault(key, []).append(clean(value))
    return found


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requested: list[str]

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture(scope="module")
def tracked_copy(tmp_path_factory) -> Path:
    """The repository as a fresh clone would hold it: tracked files only."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    target = tmp_path_factory.mktemp("tracked")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def repository_server(tracked_copy):
    requested: list[str] = []
    handler = functools.partial(
        type("Handler", (RecordingHandler,), {"requested": requested}), directory=str(tracked_copy)
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


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_lone_chapter_downloads_its_helpers_and_reproduces_its_outputs(
    path, tmp_path, monkeypatch, repository_server
):
    base_url, requested = repository_server
    folder = tmp_path / "colab"
    folder.mkdir()
    shutil.copy(path, folder / path.name)
    # Nothing of the course may be found by walking up from the folder either.
    assert not any((p / "chapters" / "course.py").exists() for p in folder.parents)

    monkeypatch.setenv("COURSE_BASE_URL", base_url)
    stored = nbformat.read(path, as_version=4)
    notebook = nbformat.read(folder / path.name, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(RECORD_READS))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_READS))
    before = len(requested)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    assert (folder / "course.py").read_bytes() == (ROOT / "chapters" / "course.py").read_bytes()
    assert "/chapters/course.py" in requested[before:], requested[before:]

    report = notebook.cells.pop()
    outside = json.loads("".join(o["text"] for o in report.outputs if o.get("name") == "stdout"))
    assert not outside, (
        f"{path.name} read files outside its folder (on a clean machine they are missing): {outside}"
    )
    notebook.cells.pop(0)

    patterns = sanitize_patterns()
    stored_code = [c for c in stored.cells if c.cell_type == "code"]
    fresh_code = [c for c in notebook.cells if c.cell_type == "code"]
    assert len(fresh_code) == len(stored_code)
    for number, (old, new) in enumerate(zip(stored_code, fresh_code)):
        problems = [
            o
            for o in new.outputs
            if o["output_type"] == "error"
            or (o["output_type"] == "stream" and o["name"] == "stderr")
        ]
        assert not problems, (
            f"{path.name} cell {number} printed errors or warnings when run alone: {problems}"
        )
        assert comparable(new.outputs, patterns) == comparable(old.outputs, patterns), (
            f"{path.name} cell {number} prints something else when run alone"
        )


@pytest.fixture
def lone_folder_without_network(tmp_path, monkeypatch):
    folder = tmp_path / "alone"
    folder.mkdir()
    # Nothing listens on port 9 of this machine: the download is refused at once.
    monkeypatch.setenv("COURSE_BASE_URL", "http://127.0.0.1:9")
    return folder


def bootstrap_source() -> str:
    notebook = nbformat.read(CHAPTERS[0], as_version=4)
    return next(c for c in notebook.cells if c.cell_type == "code").source


def run_bootstrap(cwd: Path) -> subprocess.CompletedProcess:
    # The first cell is plain Python: run it as a script, in a given working folder.
    return subprocess.run(
        [sys.executable, "-c", bootstrap_source() + "\nprint(course.__file__)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JPY_SESSION_NAME": ""},
    )


def test_bootstrap_without_course_or_network_says_what_it_tried(lone_folder_without_network):
    run = run_bootstrap(lone_folder_without_network)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: course.py is in none of"), run.stderr
    assert (
        str(lone_folder_without_network) in last and "http://127.0.0.1:9/chapters/course.py" in last
    )
    # One clear error, not urllib's traceback with the RuntimeError chained after it.
    assert "During handling" not in run.stderr and "urllib" not in run.stderr.replace(last, "")
    assert not (lone_folder_without_network / "course.py").exists()


@pytest.mark.parametrize("where", ["", "chapters", "data/lme4"], ids=["root", "chapters", "deeper"])
def test_bootstrap_in_a_clone_uses_the_local_course_module(where, tracked_copy, monkeypatch):
    # With a download address that cannot answer, any attempt to fetch would fail loudly.
    monkeypatch.setenv("COURSE_BASE_URL", "http://127.0.0.1:9")
    run = run_bootstrap(tracked_copy / where)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip().splitlines()[-1]) == tracked_copy / "chapters" / "course.py"
    assert not (tracked_copy / where / "course.py").exists() or where == "chapters"
