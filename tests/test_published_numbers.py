"""The stored outputs of chapters 2-4 contain every published number of the three fits.

nbval proves that the stored outputs are what the code produces today; this test proves
that those outputs show the numbers published for the same models (the reference tutorial's
statsmodels output, which lme4 also reproduces; see data/lme4/). Together they prove the code
reproduces them. The numbers are written here as printed in that publication.
"""

from __future__ import annotations

import re

import pytest

import notebooks

PUBLISHED = {
    "02-random-intercepts": [
        # Scale, log-likelihood, then coefficient, SE, z and 95% CI of each fixed effect.
        "960.4568",
        "-893.2325",
        "251.405",
        "9.747",
        "25.794",
        "232.302",
        "270.508",
        "10.467",
        "0.804",
        "13.015",
        "8.891",
        "12.044",
        # Subject variance and the "Std.Err." statsmodels prints beside it.
        "1378.176",
        "17.156",
        # Each subject's intercept (fixed intercept plus its predicted random effect).
        "292.188809",
        "173.555562",
        "188.296546",
        "255.811546",
        "261.621293",
        "259.626342",
        "267.905597",
        "248.408124",
        "206.122984",
        "323.587781",
        "230.208859",
        "265.516466",
        "243.542885",
        "287.783525",
        "258.441485",
        "245.042403",
        "248.110832",
        "269.520849",
        # The intraclass correlation 1378.176 / (1378.176 + 960.4568).
        "0.589",
    ],
    "03-random-slopes": [
        "842.0310",
        "-883.2625",
        "251.405",
        "4.020",
        "62.539",
        "243.526",
        "259.284",
        "10.467",
        "1.870",
        "5.599",
        "6.803",
        "14.132",
        "52.707",
        "0.692",
    ],
    "04-random-intercepts-and-slopes": [
        "654.9405",
        "-871.8141",
        "251.405",
        "6.825",
        "36.838",
        "238.029",
        "264.781",
        "10.467",
        "1.546",
        "6.771",
        "7.438",
        "13.497",
        "612.096",
        "11.881",
        "9.605",
        "1.821",
        "35.072",
        "0.610",
    ],
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_stored_outputs_show_the_published_numbers(name):
    text = notebooks.output_text(name)
    missing = [number for number in PUBLISHED[name] if number not in text]
    assert not missing, f"{name} does not show the published numbers {missing}"


def test_icc_is_not_the_misleading_ratio():
    """Chapter 2 explains that cov_re / var(y) is not the ICC (it is close to the unadjusted ICC
    of Nakagawa, Johnson & Schielzeth 2017, which counts the fixed effects' variance in the total)."""
    text = notebooks.output_text("02-random-intercepts")
    # The published ICC, 1378.176 / (1378.176 + 960.4568) = 0.5893, is what is printed as the ICC.
    assert re.search(r"\bICC = 0\.5893\b", text)
    markdown = notebooks.markdown("02-random-intercepts")
    prose = "\n".join(markdown)
    assert "intraclass correlation" in prose.lower()
    # The published misleading ratio, 0.434354, is shown, and every line of output or
    # paragraph of prose that mentions it says that it is not the ICC (or names it the
    # unadjusted ICC's near relative).
    ratio_lines = [line for line in text.splitlines() if "0.434" in line]
    assert ratio_lines and any("0.434354" in line for line in ratio_lines)
    for line in ratio_lines:
        assert "(not the ICC)" in line, line
    paragraphs = [
        paragraph
        for source in markdown
        for paragraph in re.split(r"\n\s*\n|\n(?=- )", source)  # paragraphs, list items
        if "0.434" in paragraph
    ]
    assert paragraphs
    for paragraph in paragraphs:
        assert re.search(r"not the ICC|unadjusted", paragraph), paragraph
        assert not re.search(
            r"(ICC|intraclass correlation)\W{0,20}(is|=|of)\W{0,10}0\.434", paragraph, re.I
        )
