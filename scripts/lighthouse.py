"""Lighthouse's scores for the built site, written into the README.

    .venv/bin/python scripts/lighthouse.py           # build, measure, update README.md
    .venv/bin/python scripts/lighthouse.py --print   # measure only

Lighthouse (pinned in package.json, installed by ``npm ci``) drives Debian's Chromium
(CHROME_PATH=/usr/bin/chromium; no browser is downloaded), sealed like the browser tests'
(no host but 127.0.0.1). The site is built into a temporary folder and served on
127.0.0.1; each page is measured as a phone (Lighthouse's default mobile emulation,
with its simulated slow network) and as a desktop. Scores vary a little from run to run
(performance most); that is why they live here and in the README, not in a timed test.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_book  # noqa: E402

PAGES = [
    "intro",
    "chapters/02-random-intercepts",
    "chapters/10-non-normal-outcomes",
    "chapters/appendix-b-lme4-parity",
    "instructors",
]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]
START, END = "<!-- lighthouse:start -->", "<!-- lighthouse:end -->"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def measure(url: str, desktop: bool, report: Path) -> dict[str, int]:
    command = [
        "node",
        str(ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
    ]
    if desktop:
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    result = json.loads(report.read_text())
    return {c: round(100 * result["categories"][c]["score"]) for c in CATEGORIES}


def main(argv: list[str]) -> int:
    build_book.ensure_node_packages()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        result = build_book.build(Path(scratch))
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
            return 1
        html = Path(scratch) / "_build" / "html"
        handler = functools.partial(_Quiet, directory=str(html))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            for page in PAGES:
                for desktop in (False, True):
                    scores = measure(f"{base}{page}.html", desktop, Path(scratch) / "report.json")
                    rows.append((page, "desktop" if desktop else "phone", scores))
                    print(page, rows[-1][1], scores, flush=True)
        finally:
            server.shutdown()
    table = [
        "| Page | As | Performance | Accessibility | Best practices | SEO |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| `{page}` | {kind} | " + " | ".join(str(s[c]) for c in CATEGORIES) + " |"
        for page, kind, s in rows
    ]
    print("\n".join(table))
    if "--print" not in argv:
        readme = ROOT / "README.md"
        day = datetime.date.today().isoformat()
        block = (
            f"{START}\nMeasured {day} by `scripts/lighthouse.py` (Lighthouse "
            f"{lighthouse_version()}, Debian's Chromium):\n\n" + "\n".join(table) + f"\n{END}"
        )
        text = readme.read_text()
        if START not in text:
            raise SystemExit(f"README.md has no {START} ... {END} block to update")
        readme.write_text(
            re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: block, text, flags=re.S)
        )
    return 0


def lighthouse_version() -> str:
    return json.loads((ROOT / "node_modules" / "lighthouse" / "package.json").read_text())[
        "version"
    ]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
