// Typeset TeX into SVG with the pinned MathJax (package.json), once per build, so the
// site ships the rendered math and loads no script and no font for it.
// stdin: JSON [{"tex": "...", "display": true|false}, ...]
// stdout: JSON {"html": ["<mjx-container ...>", ...], "css": "..."}
// Each result carries the expression twice: as an SVG hidden from screen readers and as
// MathML (mjx-assistive-mml) that screen readers read.
"use strict";
const MathJax = require("mathjax");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const items = JSON.parse(input);
  const MJ = await MathJax.init({
    loader: { load: ["input/tex-full", "output/svg", "adaptors/liteDOM", "a11y/assistive-mml"] },
    // Glyphs are drawn in each expression ('local'), so an expression stands on its own.
    svg: { fontCache: "local" },
    startup: { typeset: false },
  });
  const adaptor = MJ.startup.adaptor;
  const html = [];
  const errors = [];
  for (const [index, item] of items.entries()) {
    const node = MJ.tex2svg(item.tex, { display: item.display });
    // A wide display formula scrolls sideways on a phone; a scrolling box must be reachable
    // with the keyboard.
    if (item.display) adaptor.setAttribute(node, "tabindex", "0");
    const out = adaptor.outerHTML(node);
    if (out.includes('data-mjx-error') || out.includes('merror')) {
      errors.push(`expression ${index}: ${item.tex}`);
    }
    html.push(out);
  }
  const css = adaptor.textContent(MJ.svgStylesheet());
  process.stdout.write(JSON.stringify({ html, css, errors }));
});
