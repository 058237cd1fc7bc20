/* Make the visible sidebar buttons work (contents, and "on this page").
 *
 * Why: sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17.1 puts two buttons of each kind
 * on the page: the navbar's own (hidden by the book theme) and the article header's
 * (visible). Both themes attach their click handlers with document.querySelector, that
 * is to the FIRST button, the hidden one, so tapping the visible buttons does nothing at
 * any width. This forwards a click on any later button to the first one, where the
 * handlers are. tests/test_browser.py taps the visible buttons at phone and desktop width.
 *
 * When it can go: when the pinned themes attach their handlers to every toggle (fixed in
 * sphinx-book-theme 1.4 with pydata-sphinx-theme 0.20, which need Sphinx 8.2, so not under
 * Jupyter Book 1.x). The browser test then keeps passing without this file.
 */
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of [".primary-toggle", ".secondary-toggle"]) {
    const [first, ...others] = document.querySelectorAll(kind);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        first.click();
      });
    }
  }
});
