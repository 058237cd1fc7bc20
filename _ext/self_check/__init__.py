"""Self-check questions, answered and checked in the reader's browser.

A Sphinx extension of the course's own: the ``self-check`` directive (usable in MyST
markdown cells of the notebooks) renders a question with a form. The reader types a number
or picks an answer, presses Enter or the button, and the page's script marks the question
correct or incorrect and shows an explanation. Nothing is sent anywhere: the answer is in
the page (these are questions to check oneself, not a test).

Numeric question: the answer is a value glued in the same notebook (``course.glue`` or
``myst_nb.glue``), read when the book is built, never typed into the question::

    :::{self-check}
    :answer: icc_sleepstudy
    :tolerance: 0.01
    What share of the variance lies between subjects?
    +++
    Shown after an answer: the explanation (MyST markdown, may use {glue:text} roles).
    :::

Choice question (multiple choice or true/false): one line per choice, ``(x)`` for a right
choice and ``( )`` for a wrong one; the indented lines under a choice explain it::

    :::{self-check}
    What does `result.predict(df)` return?

    (x) The fixed-effects part only.
        Right: statsmodels' predict leaves out the random effects.
    ( ) The fitted values including each subject's random effects.
        No: those are `result.fittedvalues`.
    :::

A missing glue name, a value that is not a number, a question without a right choice
stop the build with an error that names the page and line.

Why not an existing library: the questions' numbers must come from the notebook's outputs
at build time, and no quiz extension for Sphinx reads myst-nb glue values.
"""

from __future__ import annotations

import math
import re
from html import escape
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.errors import SphinxError
from sphinx.util.docutils import SphinxDirective

STATIC = Path(__file__).resolve().parent / "static"
_CHOICE = re.compile(r"^\((x| )\)\s+(.*)$")
# A glued float's text/plain is its repr; a NumPy scalar's repr is np.float64(...).
_NUMBER = re.compile(r"^(?:np\.[a-z0-9_]+\()?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\)?$")


class SelfCheckError(SphinxError):
    category = "Self-check question error"


class self_check(nodes.General, nodes.Element):
    """The whole question: a <div class="self-check"> holding a <form>."""


class self_check_part(nodes.General, nodes.Element):
    """A part of the question's HTML (prompt, choice, explanation...), by its ``role``."""


def glued_number(document, key: str, where: str) -> float:
    """The number glued under ``key`` in the notebook being read; SelfCheckError if none."""
    try:
        from myst_nb.ext.glue.utils import RetrievalError, retrieve_glue_data
    except ImportError as error:  # pragma: no cover - myst-nb is part of the stack
        raise SelfCheckError(f"{where}: numeric questions need myst-nb") from error
    try:
        output = retrieve_glue_data(document, key)
    except RetrievalError as error:
        raise SelfCheckError(
            f"{where}: no value glued under {key!r} in this notebook (glue it in a code "
            f"cell with course.glue({key!r}, value) and refresh the notebook)"
        ) from error
    text = str(output.data.get("text/plain", "")).strip()
    match = _NUMBER.match(text)
    if not match:
        raise SelfCheckError(f"{where}: the value glued under {key!r} is {text!r}, not a number")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise SelfCheckError(f"{where}: the value glued under {key!r} is {value}")
    return value


def positive_number(text: str) -> float:
    value = float(directives.unchanged_required(text))
    if not value > 0 or not math.isfinite(value):
        raise ValueError("must be a positive number")
    return value


def decimals_for(tolerance: float) -> int:
    """Decimals that show the answer one digit finer than the tolerance."""
    return max(0, 1 - math.floor(math.log10(tolerance)))


class SelfCheckDirective(SphinxDirective):
    has_content = True
    option_spec = {"answer": directives.unchanged_required, "tolerance": positive_number}

    def where(self) -> str:
        source, line = self.get_source_info()
        if str(source).endswith(".ipynb") and line and line >= 10000:
            # myst-nb numbers a notebook's lines as (cell index + 1) * 10000 + line in cell.
            return f"{self.env.docname} (cell {line // 10000}, counting from 1)"
        return f"{self.env.docname} (line {line})"

    def parse_into(self, lines: list[str], node: nodes.Element) -> nodes.Element:
        """Parse MyST markdown ``lines`` into ``node``."""
        self.state.nested_parse(
            StringList(lines, self.get_source_info()[0]), self.content_offset, node
        )
        return node

    def run(self) -> list[nodes.Node]:
        if not self.content:
            raise SelfCheckError(f"{self.where()}: a self-check question needs a text")
        serial = self.env.new_serialno("self-check")
        question_id = f"self-check-{serial}"
        root = self_check(ids=[question_id])
        lines = list(self.content)
        if "answer" in self.options:
            self.numeric(root, question_id, lines)
        elif "tolerance" in self.options:
            raise SelfCheckError(f"{self.where()}: :tolerance: without :answer:")
        else:
            self.choice(root, question_id, lines)
        return [root]

    def numeric(self, root, question_id: str, lines: list[str]) -> None:
        if "tolerance" not in self.options:
            raise SelfCheckError(f"{self.where()}: a numeric question needs :tolerance:")
        key = self.options["answer"]
        answer = glued_number(self.state.document, key, self.where())
        tolerance = self.options["tolerance"]
        if "+++" in [line.strip() for line in lines]:
            cut = [line.strip() for line in lines].index("+++")
            prompt, explanation = lines[:cut], lines[cut + 1 :]
        else:
            prompt, explanation = lines, []
        if not any(line.strip() for line in prompt):
            raise SelfCheckError(f"{self.where()}: the question has no text before +++")
        root["kind"] = "number"
        root["answer"] = repr(answer)
        root["tolerance"] = repr(tolerance)
        root["shown"] = f"{answer:.{decimals_for(tolerance)}f}"
        root["shown_tolerance"] = f"{tolerance:g}"
        root += self.parse_into(prompt, self_check_part(role="prompt", qid=question_id))
        root += self_check_part(role="number-input", qid=question_id)
        root += self.parse_into(explanation, self_check_part(role="explanation", qid=question_id))

    def choice(self, root, question_id: str, lines: list[str]) -> None:
        prompt: list[str] = []
        choices: list[dict] = []
        for line in lines:
            match = _CHOICE.match(line.strip()) if not line.startswith((" ", "\t")) else None
            if match:
                choices.append(
                    {"right": match.group(1) == "x", "text": [match.group(2)], "why": []}
                )
            elif choices:
                if line.strip() and not line.startswith((" ", "\t")):
                    raise SelfCheckError(
                        f"{self.where()}: after the first choice, every line is a choice "
                        f"'(x) ...' / '( ) ...' or an indented explanation: {line!r}"
                    )
                choices[-1]["why"].append(line.strip())
            else:
                prompt.append(line)
        if len(choices) < 2:
            raise SelfCheckError(f"{self.where()}: a choice question needs two or more choices")
        if not any(c["right"] for c in choices):
            raise SelfCheckError(f"{self.where()}: no choice is marked right with (x)")
        if not any(line.strip() for line in prompt):
            raise SelfCheckError(f"{self.where()}: the question has no text before its choices")
        root["kind"] = "choice"
        root += self.parse_into(prompt, self_check_part(role="prompt", qid=question_id))
        group = self_check_part(role="choices", qid=question_id)
        for index, choice in enumerate(choices):
            item = self_check_part(
                role="choice", qid=question_id, index=index, right=choice["right"]
            )
            label = self.parse_into(
                choice["text"], self_check_part(role="choice-label", qid=question_id, index=index)
            )
            # A <label> holds phrasing content only: lift a lone paragraph's inline nodes.
            if len(label.children) != 1 or not isinstance(label[0], nodes.paragraph):
                raise SelfCheckError(f"{self.where()}: a choice's text must be one line of text")
            paragraph = label[0]
            label.remove(paragraph)
            label.extend(paragraph.children)
            item += label
            if choice["why"]:
                item += self.parse_into(
                    choice["why"], self_check_part(role="why", qid=question_id, index=index)
                )
            group += item
        root += group


def visit_self_check(self, node):
    attributes = {
        "class": "self-check",
        "data-kind": node["kind"],
    }
    if node["kind"] == "number":
        attributes.update(
            {
                "data-answer": node["answer"],
                "data-tolerance": node["tolerance"],
                "data-shown": node["shown"],
                "data-shown-tolerance": node["shown_tolerance"],
            }
        )
    self.body.append(self.starttag(node, "div", **attributes))
    self.body.append(
        '<form class="self-check-form" novalidate><p class="self-check-heading">Check yourself</p>'
    )


def depart_self_check(self, node):
    qid = node["ids"][0]
    self.body.append(
        f'<div class="self-check-actions"><button type="submit" class="self-check-submit">'
        f"Check answer</button></div>"
        f'<div class="self-check-verdict" id="{qid}-verdict" role="status" aria-live="polite"></div>'
        "</form></div>\n"
    )


def visit_part(self, node):
    role, qid = node["role"], node["qid"]
    if role == "prompt":
        self.body.append(f'<div class="self-check-prompt" id="{qid}-prompt">')
    elif role == "number-input":
        self.body.append(
            f'<div class="self-check-field"><label for="{qid}-input">Your answer</label>'
            f'<input type="text" id="{qid}-input" class="self-check-input" inputmode="decimal" '
            f'autocomplete="off" spellcheck="false" aria-describedby="{qid}-prompt {qid}-verdict">'
            "</div>"
        )
    elif role == "explanation":
        self.body.append(f'<div class="self-check-explanation" id="{qid}-explanation" hidden>')
    elif role == "choices":
        self.body.append(
            f'<fieldset class="self-check-choices" aria-describedby="{qid}-prompt {qid}-verdict">'
            "<legend>Choose one answer</legend>"
        )
    elif role == "choice":
        right = "true" if node["right"] else "false"
        self.body.append(
            f'<div class="self-check-choice" data-right="{right}">'
            f'<input type="radio" name="{qid}" id="{qid}-{node["index"]}" '
            f'value="{node["index"]}">'
        )
    elif role == "choice-label":
        self.body.append(f'<label for="{qid}-{node["index"]}">')
    elif role == "why":
        self.body.append('<div class="self-check-why" hidden>')
    else:  # pragma: no cover - the directive makes only the roles above
        raise SelfCheckError(f"unknown self-check part {escape(role)!r}")


def depart_part(self, node):
    role = node["role"]
    closing = {
        "prompt": "</div>",
        "number-input": "",
        "explanation": "</div>",
        "choices": "</fieldset>",
        "choice": "</div>",
        "choice-label": "</label>",
        "why": "</div>",
    }[role]
    self.body.append(closing)


def skip(self, node):
    raise nodes.SkipNode


def add_static_path(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_node(
        self_check,
        html=(visit_self_check, depart_self_check),
        latex=(skip, None),
        text=(skip, None),
        man=(skip, None),
        texinfo=(skip, None),
    )
    app.add_node(
        self_check_part,
        html=(visit_part, depart_part),
        latex=(skip, None),
        text=(skip, None),
        man=(skip, None),
        texinfo=(skip, None),
    )
    app.add_directive("self-check", SelfCheckDirective)
    app.connect("builder-inited", add_static_path)
    app.add_css_file("self_check.css")
    app.add_js_file("self_check.js", defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
