"""The course's own Sphinx extension: a site that loads nothing from elsewhere, stays light
and reads well for every reader.

What it does, and why each is here rather than in the notebooks or the theme:

* **Math, rendered at build time.** Every formula is typeset once per build by the pinned
  MathJax of package.json (``npm ci`` installs it into node_modules/), in Node, into SVG with
  MathML beside it for screen readers (``_ext/render_math.js``). Pages then carry their
  math: no script, no font and no request for it, so math shows offline and no reader's
  visit is reported to a CDN. (MathJax's browser bundle alone would be 1.2 MB per first visit.)
* **Icons without the 1.5 MB icon script.** The theme draws its icons with Font Awesome's
  JavaScript, which ships every icon there is. The few icons the pages use are written into
  a small stylesheet (CSS masks, so they take the text colour) from that same script at
  build time, and the script is removed.
* **No search index on every page.** pydata-sphinx-theme 0.17 loads the search index and
  Sphinx's search code on every page for its search-as-you-type option, which the course
  leaves off; search.html still loads them.
* **No source maps deployed**, meta descriptions from each page's first paragraph,
  appendix letters ("Appendix A: ..."), and pandas tables whose empty corner cells are
  not empty *headers* (a header with no text is an accessibility error).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util.math import get_node_equation_number

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MATHJAX = ROOT / "node_modules" / "mathjax"
MARKER = "@@course-math-{}@@"
MARKER_RE = re.compile(r"@@course-math-([0-9a-f]{40})@@")
ICON_CSS = "course-icons.css"
MATH_CSS = "course-math.css"


# --- Math -------------------------------------------------------------------------------


def _expressions(app: Sphinx) -> dict[str, tuple[str, bool]]:
    if not hasattr(app, "_course_math"):
        app._course_math = {}
    return app._course_math


def _placeholder(self, tex: str, display: bool) -> str:
    key = hashlib.sha1(f"{display}\0{tex}".encode()).hexdigest()
    _expressions(self.builder.app)[key] = (tex, display)
    return MARKER.format(key)


def visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_placeholder(self, node.astext(), False))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node):
    # The same TeX that sphinx.ext.mathjax would hand to MathJax in the browser.
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["nowrap"]:
        tex = node.astext()
    else:
        if node["number"]:
            number = get_node_equation_number(self, node)
            self.body.append(f'<span class="eqno">({number})')
            self.add_permalink_ref(node, "Link to this equation")
            self.body.append("</span>")
        parts = [p for p in node.astext().split("\n\n") if p.strip()]
        pieces = [r"\begin{split}" + p + r"\end{split}" if r"\\" in p else p for p in parts]
        tex = r" \\ ".join(pieces)
        if len(parts) > 1:
            tex = r"\begin{align}\begin{aligned}" + tex + r"\end{aligned}\end{align}"
    self.body.append(_placeholder(self, tex, True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def render_math(pages: list[list[tuple[str, bool]]]) -> tuple[list[tuple[list[str], str]], str]:
    """Typeset each page's (tex, display) pairs with the pinned MathJax.

    Returns, per page, the HTML of each expression and the SVG with the page's glyph
    shapes (to be put once on the page), and the stylesheet the output needs.
    Raises ExtensionError when MathJax or Node is missing or an expression does not typeset.
    """
    if not (MATHJAX / "package.json").is_file():
        raise ExtensionError(
            f"MathJax is not installed in {MATHJAX.parent}: run `npm ci` in {ROOT}"
        )
    node = shutil.which("node")
    if node is None:
        raise ExtensionError("Node.js is needed to typeset the math (apt-get install nodejs npm)")
    payload = json.dumps([[{"tex": t, "display": d} for t, d in items] for items in pages])
    result = subprocess.run(
        [node, str(HERE / "render_math.js")],
        input=payload,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise ExtensionError(f"MathJax failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout)
    if answer["errors"]:
        raise ExtensionError("MathJax could not typeset:\n  " + "\n  ".join(answer["errors"]))
    return [(p["html"], p["defs"]) for p in answer["pages"]], answer["css"]


# --- Icons ------------------------------------------------------------------------------

PACKS = {
    "fas": "fas",
    "fa-solid": "fas",
    "fab": "fab",
    "fa-brands": "fab",
    "far": "far",
    "fa-regular": "far",
}
# Icons the theme's scripts create after the page has loaded (not in the HTML).
SCRIPT_ICONS = {("fas", "xmark")}
ICON_RE = re.compile(r'<(?:i|span) class="([^"]*\bfa-[^"]*)"')
NOT_NAMES = {"fa-lg", "fa-solid", "fa-brands", "fa-regular", "fa-fw", "fa-2x"}


def icons_used(pages: list[Path]) -> set[tuple[str, str]]:
    used = set(SCRIPT_ICONS)
    for page in pages:
        for classes in ICON_RE.findall(page.read_text()):
            words = classes.split()
            pack = next((PACKS[w] for w in words if w in PACKS), "fas")
            names = [w[3:] for w in words if w.startswith("fa-") and w not in NOT_NAMES]
            used.update((pack, name) for name in names)
    return used


def icon_paths(
    script: str, used: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Each icon's (width, height, SVG path) from Font Awesome's all-in-one script."""
    # The script defines each pack as an object literal and registers it with d("fas", p).
    packs = {}
    start = 0
    for match in re.finditer(r'd\("(fas|far|fab)",p\)', script):
        packs[match.group(1)] = script[start : match.start()]
        start = match.end()
    found = {}
    for pack, name in sorted(used):
        text = packs.get(pack, "")
        pattern = (
            r'[,{]"?' + re.escape(name) + r'"?:\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","([^"]+)"\]'
        )
        match = None
        for match in re.finditer(pattern, text):
            pass  # the pack's own definition is its last; aliases come first
        if match is None:
            raise ExtensionError(f"icon {pack} {name} is not in the theme's Font Awesome script")
        found[(pack, name)] = match.groups()
    return found


def icon_stylesheet(paths) -> str:
    rules = [
        "/* Generated by _ext/course_site.py from the theme's Font Awesome script, with only\n"
        " * the icons the pages use. Font Awesome Free, icons CC BY 4.0 (fontawesome.com/license). */",
        ':is(i, span)[class*="fa-"] { display: inline-block; width: 1.25em; height: 1em; vertical-align: -0.125em;'
        " background-color: currentColor; -webkit-mask: var(--icon) no-repeat center / contain;"
        " mask: var(--icon) no-repeat center / contain; }",
        ':is(i, span)[class*="fa-"].fa-lg { font-size: 1.25em; vertical-align: -0.2em; }',
        # The theme's stylesheet also draws each icon as a glyph of Font Awesome's web
        # fonts (270 kB); with no glyph to draw, the browser never fetches them.
        ':is(i, span)[class*="fa-"]::before, :is(i, span)[class*="fa-"]::after { content: none !important; }',
    ]
    for (pack, name), (width, height, path) in sorted(paths.items()):
        svg = (
            f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
            f"<path d='{path}'/></svg>"
        )
        selector = ", ".join(f":is(i, span).{p}.fa-{name}" for p, q in PACKS.items() if q == pack)
        rules.append(
            f'{selector} {{ --icon: url("data:image/svg+xml,{svg.replace("#", "%23")}"); }}'
        )
    return "\n".join(rules) + "\n"


def solid_icon_by_code(script: str, code: str) -> tuple[str, str, str]:
    solid = script[: re.search(r'd\("fas",p\)', script).start()]
    matches = re.findall(r'\[(\d+),(\d+),\[[^\]]*\],"' + code + r'","([^"]+)"\]', solid)
    if not matches:
        raise ExtensionError(f"no solid icon with code {code} in the theme's Font Awesome script")
    return matches[-1]


def admonition_icons(script: str, theme_css: str, exercise_css: str) -> str:
    """The admonition titles' icons (drawn by the theme with the icon font) as masks."""
    # The theme writes each code point as the character itself (a private-use character).
    icons = {
        name: f"{ord(char):x}"
        for name, char in re.findall(r'--pst-icon-([a-z-]+):"([\ue000-\uf8ff])"', theme_css)
    }
    kinds = dict(
        re.findall(r"--pst-icon-admonition-([a-z]+):var\(--pst-icon-([a-z-]+)\)", theme_css)
    )
    codes = {kind: icons[name] for kind, name in kinds.items() if name in icons}
    codes.update(
        re.findall(
            r'div\.([a-z]+) p\.admonition-title::after \{\s*content: "\\([0-9a-f]+)"', exercise_css
        )
    )
    rules = [
        ".admonition > .admonition-title::after, div.admonition > p.admonition-title::after {"
        ' content: "" !important; font: inherit !important; background-color: currentColor;'
        " -webkit-mask: var(--course-icon) no-repeat center / contain;"
        " mask: var(--course-icon) no-repeat center / contain; }",
        "div.solution > p.admonition-title::after { content: none !important; }",
    ]
    for kind, code in sorted(codes.items()):
        width, height, path = solid_icon_by_code(script, code)
        svg = (
            f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}'>"
            f"<path d='{path}'/></svg>"
        ).replace("#", "%23")
        selector = (
            ".admonition > .admonition-title::after"
            if kind == "default"
            else f".admonition.{kind} > .admonition-title::after, "
            f"div.{kind} > p.admonition-title::after"
        )
        rules.append(f'{selector} {{ --course-icon: url("data:image/svg+xml,{svg}"); }}')
    return "\n".join(rules) + "\n"


# --- Page content -----------------------------------------------------------------------


class AppendixLetters(SphinxTransform):
    """'Appendix A: ' before the title of chapters/appendix-a-*, as the instructors page says."""

    default_priority = 200

    def apply(self):
        match = re.search(r"(?:^|/)appendix-([a-z])-", self.env.docname)
        if not match:
            return
        for section in self.document.findall(nodes.section):
            title = section.next_node(nodes.title)
            if title is not None:
                title.insert(0, nodes.Text(f"Appendix {match.group(1).upper()}: "))
            return


EMPTY_HEADER = re.compile(r"<th([^>]*)>(\s|&nbsp;)*</th>")


def tables_without_empty_headers(app, doctree, docname):
    """pandas writes its empty corner cells as <th></th>; an empty cell is data, not a header."""
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", "") or "<th" not in raw.astext():
            continue
        text = EMPTY_HEADER.sub(r"<td\1></td>", raw.astext())
        if text != raw.astext():
            raw.replace_self(nodes.raw(text, text, **{k: v for k, v in raw.attributes.items()}))


def description(doctree) -> str:
    for paragraph in doctree.findall(nodes.paragraph):
        text = " ".join(paragraph.astext().split())
        if len(text) >= 60:
            if len(text) > 160:
                text = text[:157].rsplit(" ", 1)[0] + " ..."
            return text
    return ""


def page_context(app, pagename, templatename, context, doctree):
    if doctree is None:
        return
    text = description(doctree) or context.get("title", "")
    if text:
        context["metatags"] = (
            context.get("metatags", "")
            + f'\n<meta name="description" content="{html.escape(text)}" />'
        )


# --- After the build --------------------------------------------------------------------

SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)
ICON_SCRIPT = re.compile(
    r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)
OUTPUT_IMAGE = re.compile(
    r'(<div class="cell_output docutils container">(?:(?!</div>).)*?)<img (?!loading)', re.S
)
SOURCE_MAP = re.compile(r"\n?/[/*]# sourceMappingURL=\S+?(?: \*/)?\s*$")


def finish(app: Sphinx, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    static = out / "_static"
    pages = sorted(out.rglob("*.html"))

    expressions = _expressions(app)
    with_math = {}
    for page in pages:
        keys = list(dict.fromkeys(MARKER_RE.findall(page.read_text())))
        if keys:
            missing = [k for k in keys if k not in expressions]
            if missing:
                raise ExtensionError(f"{page}: math without its TeX (a stale build? remove it)")
            with_math[page] = keys
    typeset = {}
    if with_math:
        rendered, css = render_math([[expressions[k] for k in keys] for keys in with_math.values()])
        typeset = dict(zip(with_math, rendered))
        (static / MATH_CSS).write_text(
            css + '\nmjx-container[display="true"] { overflow-x: auto; overflow-y: hidden;'
            " max-width: 100%; padding: 2px 0; }\n"
        )
    elif not (static / MATH_CSS).exists():
        (static / MATH_CSS).write_text("")

    script = static / "scripts" / "fontawesome.js"
    if script.exists():
        source = script.read_text()
        (static / ICON_CSS).write_text(
            icon_stylesheet(icon_paths(source, icons_used(pages)))
            + admonition_icons(
                source,
                (static / "styles" / "pydata-sphinx-theme.css").read_text(),
                (static / "exercise.css").read_text(),
            )
        )

    for page in pages:
        text = original = page.read_text()
        if page in typeset:
            html_list, defs = typeset[page]
            by_key = dict(zip(with_math[page], html_list))
            text = MARKER_RE.sub(lambda m: by_key[m.group(1)], text)
            # The page's glyph shapes, once, at the start of the body.
            text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + defs, text, count=1)
        if page.name != "search.html" or page.parent != out:
            text = SEARCH_SCRIPTS.sub("", text)
        text = ICON_SCRIPT.sub("", text)
        # The sidebar's site title sits outside every landmark; name the sidebar as one.
        text = text.replace(
            '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">',
            '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" '
            'role="region" aria-label="Site navigation">',
        )
        # docutils marks the bibliography up with roles ARIA no longer allows on a div
        # (doc-biblioentry is deprecated; a "list" then lacks "listitem" children).
        text = text.replace(
            '<div role="list" class="citation-list">', '<div class="citation-list">'
        )
        text = text.replace(' role="doc-biblioentry"', "")
        # Figures below the first screen load when the reader gets near them.
        text = OUTPUT_IMAGE.sub(r'\1<img loading="lazy" decoding="async" ', text)
        if text != original:
            page.write_text(text)

    for scripts_folder in [static, static / "scripts", static / "styles"]:
        for path in scripts_folder.glob("*.map"):
            path.unlink()
        for path in list(scripts_folder.glob("*.js")) + list(scripts_folder.glob("*.css")):
            text = path.read_text()
            stripped = SOURCE_MAP.sub("\n", text)
            if stripped != text:
                path.write_text(stripped)
    for path in [script, static / "scripts" / "fontawesome.js.LICENSE.txt"]:
        if path.exists():
            path.unlink()


def setup(app: Sphinx):
    app.add_html_math_renderer("course_svg", (visit_math, None), (visit_displaymath, None))
    app.add_transform(AppendixLetters)
    app.connect("doctree-resolved", tables_without_empty_headers)
    app.connect("html-page-context", page_context)
    app.connect("build-finished", finish)
    app.add_css_file(ICON_CSS)
    app.add_css_file(MATH_CSS)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
