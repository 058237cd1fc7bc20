/* Make the visible sidebar buttons work (contents, and "on this page").
 *
 * Why: sphinx-book-theme 1.3.0 on pydata-sphinx-theme 0.17.1 puts two buttons of each kind
 * on the page: the navbar's own (hidden by the book theme) and the article header's
 * (visible). Both themes attach their click handlers with document.querySelector, that
 * is to the FIRST button, the hidden one, so tapping the visible buttons does nothing at
 * any width. This forwards a click on any later button to the first one, where the
 * handlers are. tests/test_browser.py taps the visible buttons at phone and desktop width.
 *
 * When it can go: when a theme version that runs under Jupyter Book 1.x (Sphinx 7) attaches
 * its handlers to the visible buttons. The newest sphinx-book-theme, 1.4.0, needs Sphinx
 * 8.2 or later, so it could not be tried here. To check a new version, delete this file
 * and run the two sidebar tests of tests/test_browser.py: they pass without it only once
 * the themes are fixed.
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
