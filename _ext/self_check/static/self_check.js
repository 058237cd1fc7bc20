// Self-check questions (the course's _ext/self_check): mark an answer correct or incorrect
// in the page. Nothing leaves the page; the answers are in the HTML.
(function () {
  "use strict";

  // "0.59", "0,59", " -3.2e1 " -> a number; anything else -> NaN.
  function readNumber(text) {
    var cleaned = text.trim().replace(/\s+/g, "").replace(/^\u2212/, "-");
    if (cleaned.indexOf(",") >= 0 && cleaned.indexOf(".") < 0) {
      cleaned = cleaned.replace(",", ".");
    }
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) {
      return NaN;
    }
    return Number(cleaned);
  }

  function show(question, verdict, right, extra) {
    question.classList.remove("correct", "incorrect", "unanswered");
    var box = question.querySelector(".self-check-verdict");
    box.textContent = "";
    var word = document.createElement("strong");
    if (right === null) {
      question.classList.add("unanswered");
      word.textContent = verdict;
      box.appendChild(word);
      return;
    }
    question.classList.add(right ? "correct" : "incorrect");
    word.textContent = right ? "Correct." : "Incorrect.";
    box.appendChild(word);
    if (verdict) {
      box.appendChild(document.createTextNode(" " + verdict));
    }
    if (extra) {
      var copy = extra.cloneNode(true);
      copy.removeAttribute("hidden");
      copy.removeAttribute("id");
      copy.className = "self-check-said";
      box.appendChild(copy);
    }
  }

  function checkNumber(question) {
    var input = question.querySelector(".self-check-input");
    var given = readNumber(input.value);
    if (isNaN(given)) {
      show(question, "Type a number, for example 0.25.", null);
      input.setAttribute("aria-invalid", "true");
      return;
    }
    input.removeAttribute("aria-invalid");
    var answer = Number(question.dataset.answer);
    var tolerance = Number(question.dataset.tolerance);
    // A little slack so that a value typed at the tolerance's edge is not lost to rounding.
    var right = Math.abs(given - answer) <= tolerance * (1 + 1e-9);
    var said = "The chapter's value is " + question.dataset.shown +
      " (answers within \u00b1" + question.dataset.shownTolerance + " count).";
    var explanation = question.querySelector(".self-check-explanation");
    show(question, said, right, explanation && explanation.childElementCount ? explanation : null);
  }

  function checkChoice(question) {
    var picked = question.querySelector("input[type=radio]:checked");
    if (!picked) {
      show(question, "Choose an answer first.", null);
      return;
    }
    var choice = picked.closest(".self-check-choice");
    var why = choice.querySelector(".self-check-why");
    show(question, "", choice.dataset.right === "true", why);
  }

  function check(question) {
    if (question.dataset.kind === "number") {
      checkNumber(question);
    } else {
      checkChoice(question);
    }
  }

  function init() {
    var questions = document.querySelectorAll(".self-check");
    Array.prototype.forEach.call(questions, function (question) {
      var form = question.querySelector("form");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        check(question);
      });
      // Enter on a radio button checks the answer too (browsers differ on submitting).
      form.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && event.target.type === "radio") {
          event.preventDefault();
          check(question);
        }
      });
      // A changed answer clears the old verdict until it is checked.
      form.addEventListener("input", function () {
        question.classList.remove("correct", "incorrect", "unanswered");
        question.querySelector(".self-check-verdict").textContent = "";
      });
      question.classList.add("ready");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
