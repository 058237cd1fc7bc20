// Typeset TeX into SVG with the pinned MathJax (package.json), once per build, so the
// site ships the rendered math and loads no script and no font for it.
// stdin: JSON, one list per page of {"tex": "...", "display": true|false}
// stdout: JSON {"pages": [{"html": ["<mjx-container ...>", ...], "defs": "<svg ...>"}, ...],
//               "css": "...", "errors": [...]}
// Each expression is an SVG hidden from screen readers plus MathML (mjx-assistive-mml) that
// screen readers read. A page's glyph shapes are written once, in its "defs" SVG (MathJax's
// global font cache), and every expression on the page refers to them.
"use strict";
const MathJax = require("mathjax");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const pages = JSON.parse(input);
  const MJ = await MathJax.init({
    loader: { load: ["input/tex-full", "output/svg", "adaptors/liteDOM", "a11y/assistive-mml"] },
    // An unknown macro is an error, not red text on the page.
    tex: { packages: { "[-]": ["noundefined"] } },
    svg: { fontCache: "global" },
    startup: { typeset: false },
  });
  const adaptor = MJ.startup.adaptor;
  const output = MJ.startup.output;
  const errors = [];
  const result = [];
  for (const items of pages) {
    output.fontCache.clearCache();
    const html = [];
    for (const item of items) {
      let node;
      try {
        node = MJ.tex2svg(item.tex, { display: item.display });
      } catch (error) {
        errors.push(`${item.tex}: ${error.message}`);
        html.push("");
        continue;
      }
      // A wide display formula scrolls sideways on a phone; a scrolling box must be
      // reachable with the keyboard.
      if (item.display) adaptor.setAttribute(node, "tabindex", "0");
      const out = adaptor.outerHTML(node);
      if (out.includes("data-mjx-error") || out.includes("merror")) errors.push(item.tex);
      html.push(out);
    }
    const defs = adaptor.outerHTML(output.svg(
      "svg", { id: "MJX-SVG-global-cache", style: { display: "none" } }, [output.fontCache.getCache()]));
    result.push({ html, defs });
  }
  const css = adaptor.textContent(MJ.svgStylesheet());
  process.stdout.write(JSON.stringify({ pages: result, css, errors }));
});
