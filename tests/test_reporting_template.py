"""Chapter 7's filled-in reporting template, read from the notebook's stored output and
checked number by number against R.

The report is printed text (cell ``b35e6a82``); each number in it is compared with
lmerTest's Satterthwaite tests (satterthwaite-reference.json), lme4's fit and
likelihood-ratio test (sleepstudy-reference.json) and lme4's bootstrap, number of groups,
isSingular() and rePCA() (reporting-reference.json). A number printed to k digits must
equal R's value rounded to the same digits (within half a unit of its last digit); the
bootstrap ends, which depend on the random numbers, must lie within three Monte Carlo
standard errors of R's. The exercise on the uncorrelated model is checked the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import course
import notebooks

CHAPTER = notebooks.load("07-inference")
SLEEPSTUDY = course.load_lme4_reference("sleepstudy")
SATTERTHWAITE = course.load_lme4_reference("satterthwaite")["models"]
REPORTING = course.load_lme4_reference("reporting")["correlated_REML"]
NUMBER = r"(-?[0-9.]+(?:e[-+][0-9]+)?)"


def output_of(cell_id: str) -> str:
    """A cell's stored text output with its line breaks and indents made single spaces."""
    cell = next(c for c in CHAPTER.cells if c.get("id") == cell_id)
    text = "\n".join(notebooks.output_texts(cell))
    assert text.strip(), f"cell {cell_id} has no stored output"
    return " ".join(text.split())


REPORT = output_of("b35e6a82")
BLANK = output_of("report-template")
EXERCISE = output_of("ex-inference-4-code")


def find(pattern: str, text: str | None = None) -> tuple[str, ...]:
    """The groups of ``pattern``'s first match in ``text`` (the report by default)."""
    match = re.search(pattern, REPORT if text is None else text)
    assert match, f"{pattern!r} is not in the printed text"
    return match.groups()


def assert_rounds_to(printed: str, value: float) -> None:
    """``printed`` is ``value`` rounded to the printed digits (half a unit of the last)."""
    half_unit = 0.5 * 10.0 ** Decimal(printed).as_tuple().exponent
    assert abs(float(printed) - value) <= half_unit * (1 + 1e-9), (printed, value)


def fixed_line(term: str, unit: str, text: str | None = None) -> dict[str, str]:
    names = ["estimate", "se", "df", "t", "p", "lower", "upper"]
    pattern = (
        rf"- {re.escape(term)} \({re.escape(unit)}\): {NUMBER}, SE {NUMBER}, t\({NUMBER}\) = "
        rf"{NUMBER}, p = {NUMBER}, 95% CI \[{NUMBER}, {NUMBER}\]"
    )
    return dict(zip(names, find(pattern, text)))


def check_against_lmertest(line: dict[str, str], reference: dict) -> None:
    """Every number of a fixed-effect line against lmerTest's row; the interval from R's
    estimate, SE and df with the t quantile."""
    half = stats.t.ppf(0.975, reference["df"]) * reference["std_error"]
    for key, value in [
        ("estimate", reference["estimate"]),
        ("se", reference["std_error"]),
        ("df", reference["df"]),
        ("t", reference["t_value"]),
        ("p", reference["p_value"]),
        ("lower", reference["estimate"] - half),
        ("upper", reference["estimate"] + half),
    ]:
        assert_rounds_to(line[key], value)
    assert len(Decimal(line["p"]).as_tuple().digits) == 3, "p-values get 3 significant digits"


FIXED = [("Intercept", "(Intercept)", "ms, on day 0"), ("Days", "Days", "ms per day")]


@pytest.mark.parametrize("term, r_term, unit", FIXED)
def test_fixed_effects_agree_with_lmertest(term, r_term, unit):
    reference = {
        row["term"]: row for row in SATTERTHWAITE["sleepstudy_correlated"]["satterthwaite"]
    }
    check_against_lmertest(fixed_line(term, unit), reference[r_term])


def r_variance_components(model: str) -> dict:
    rows = SLEEPSTUDY["models"][model]["REML"]["variance_components"]
    return {(row["var1"], row["var2"]): row["sdcor"] for row in rows}


RANDOM = [
    ("SD of subjects' intercepts", "ms", ("(Intercept)", None), "sd_intercept"),
    ("SD of subjects' slopes", "ms per day", ("Days", None), "sd_days"),
    ("Correlation of intercepts and slopes", "no unit", ("(Intercept)", "Days"), "correlation"),
    ("Residual SD", "ms", (None, None), "sigma"),
]


def random_line(term: str, unit: str, text: str | None = None) -> tuple[str, str, str]:
    pattern = rf"- {re.escape(term)} \({re.escape(unit)}\): {NUMBER}, 95% CI \[{NUMBER}, {NUMBER}\]"
    return find(pattern, text)


@pytest.mark.parametrize("term, unit, key, _", RANDOM)
def test_random_effect_estimates_agree_with_lme4(term, unit, key, _):
    estimate, _, _ = random_line(term, unit)
    assert len(Decimal(estimate).as_tuple().digits) == 4
    assert_rounds_to(estimate, r_variance_components("correlated")[key])


@pytest.mark.parametrize("term, unit, _, parameter", RANDOM)
def test_bootstrap_intervals_agree_with_lme4_within_monte_carlo_error(term, unit, _, parameter):
    """Our bootstrap has R replicates (printed); lme4's has 2000. The Monte Carlo SE of a
    percentile of R replicates is about sqrt(p (1 - p) / R) / f, with f the density there,
    here that of a normal distribution with lme4's bootstrap SD. Each printed end must lie
    within three combined SEs of lme4's, plus half a unit of its last printed digit."""
    (n_replicates,) = find(r"parametric bootstrap of the REML fit, (\d+) replicates, seed \d+")
    reference = next(
        row for row in REPORTING["bootstrap"]["intervals"] if row["parameter"] == parameter
    )
    our_se = (
        np.sqrt(0.025 * 0.975 / int(n_replicates))
        * reference["bootstrap_sd"]
        / stats.norm.pdf(stats.norm.ppf(0.975))
    )
    _, lower, upper = random_line(term, unit)
    for printed, end in [(lower, "lower"), (upper, "upper")]:
        half_unit = 0.5 * 10.0 ** Decimal(printed).as_tuple().exponent
        tolerance = 3 * np.hypot(our_se, reference[f"mc_se_{end}"]) + half_unit
        assert abs(float(printed) - reference[end]) <= tolerance, (
            term,
            end,
            printed,
            reference[end],
        )


def test_the_printed_bootstrap_interval_is_rounded_coarser_than_its_monte_carlo_error():
    """Rounded to the digit in which twice the Monte Carlo SE shows up: the intercept SD's
    ends (SE above 1 ms with 100 replicates, by lme4's bootstrap SD) carry no decimals."""
    _, lower, upper = random_line("SD of subjects' intercepts", "ms")
    assert "." not in lower + upper


def test_model_data_and_structure_agree_with_lme4():
    model = SLEEPSTUDY["models"]["correlated"]
    (formula,) = find(r"\(lme4: (Reaction ~ Days \+ \(Days \| Subject\))\)")
    assert formula == model["lme4_formula"] == REPORTING["formula"]
    n_obs, n_groups = find(
        r"Data\. (\d+) observations from (\d+) subjects \(10 each, none missing\)"
    )
    assert int(n_obs) == REPORTING["nobs"] == model["REML"]["nobs"]
    assert int(n_groups) == REPORTING["n_groups"]
    test = next(
        t
        for t in SLEEPSTUDY["likelihood_ratio_tests"]["tests"]
        if (t["reduced"], t["full"]) == ("uncorrelated", "correlated")
    )
    chisq, p = find(
        rf"likelihood-ratio test of ML fits finds no evidence for it \(chi-square\(1\) = {NUMBER}, p = {NUMBER}\)"
    )
    assert_rounds_to(chisq, test["chisq"])
    assert_rounds_to(p, test["p_value"])
    assert p == "0.800", "three significant digits, trailing zero kept"


def test_convergence_and_boundary_statements_agree_with_lme4():
    assert "statsmodels' converged flag is True" in REPORT
    (threshold,) = find(r"at the estimates is below ([0-9.e-]+)\.")
    assert float(threshold) == course.GRADIENT_THAT_MATTERS
    assert REPORTING["convergence_messages"] == []
    assert not REPORTING["singular"] and "Boundary: not a singular fit;" in REPORT
    (smallest,) = find(
        rf"smaller principal component of the random effects has an SD of {NUMBER} times"
    )
    assert_rounds_to(smallest, min(REPORTING["repca_sdev"]))


def pins() -> dict[str, str]:
    root = Path(notebooks.ROOT)
    text = (root / "requirements.txt").read_text() + (
        root / "binder" / "requirements.txt"
    ).read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M))


def test_software_versions_are_the_pinned_ones_and_nothing_else():
    versions = dict(
        zip(
            ["statsmodels", "numpy", "pandas"],
            find(r"Software: statsmodels (\S+) \(MixedLM\) with numpy (\S+) and pandas (\S+?);"),
        )
    )
    pinned = pins()
    assert versions == {name: pinned[name] for name in versions}
    # Versions of Python or the operating system would change with the machine.
    assert not re.search(r"Python \d|Linux|Windows|macOS", REPORT)


def test_the_sentences_in_words_agree_with_lme4():
    fixed = {row["term"]: row for row in SATTERTHWAITE["sleepstudy_correlated"]["satterthwaite"]}
    sds = r_variance_components("correlated")
    intercept, slope, lower, upper = find(
        rf"On day 0 the average reaction time was {NUMBER} ms\. Each further day in the study "
        rf"slowed it by {NUMBER} ms on average \(95% CI {NUMBER} to {NUMBER} ms\)"
    )
    half = stats.t.ppf(0.975, fixed["Days"]["df"]) * fixed["Days"]["std_error"]
    assert_rounds_to(intercept, fixed["(Intercept)"]["estimate"])
    assert_rounds_to(slope, fixed["Days"]["estimate"])
    assert_rounds_to(lower, fixed["Days"]["estimate"] - half)
    assert_rounds_to(upper, fixed["Days"]["estimate"] + half)
    sd_intercept, sd_slope, low, high, sigma = find(
        rf"on day 0 with an SD of {NUMBER} ms, and in how fast they slowed with an SD of {NUMBER} "
        rf"ms per day, .* slowed by between {NUMBER} and {NUMBER} ms per day\. Around their own "
        rf"line, a subject's reaction times scattered with an SD of {NUMBER} ms\."
    )
    assert_rounds_to(sd_intercept, sds[("(Intercept)", None)])
    assert_rounds_to(sd_slope, sds[("Days", None)])
    assert_rounds_to(low, fixed["Days"]["estimate"] - sds[("Days", None)])
    assert_rounds_to(high, fixed["Days"]["estimate"] + sds[("Days", None)])
    assert_rounds_to(sigma, sds[(None, None)])


def test_the_blank_template_has_the_filled_ones_parts_and_no_numbers():
    parts = [
        "Model.",
        "Data.",
        "Estimation and software.",
        "Optimiser:",
        "Convergence:",
        "Boundary:",
        "Fixed effects (estimate, standard error, t test with Satterthwaite's degrees of freedom",
        "Random effects (SD or correlation; 95% CIs:",
        "In words:",
    ]
    for part in parts:
        assert part in BLANK and part in REPORT, part
    assert not re.search(r"\d\.\d", BLANK)


@pytest.mark.parametrize("term, r_term, unit", FIXED)
def test_exercise_uncorrelated_fixed_effects_agree_with_lmertest(term, r_term, unit):
    reference = {
        row["term"]: row for row in SATTERTHWAITE["sleepstudy_uncorrelated"]["satterthwaite"]
    }
    check_against_lmertest(fixed_line(term, unit, EXERCISE), reference[r_term])


def test_exercise_uncorrelated_sds_agree_with_lme4():
    rows = SLEEPSTUDY["models"]["uncorrelated"]["REML"]["variance_components"]
    # lme4 names the slope's separate term of (Days || Subject) Subject.1.
    sds = {(row["group"], row["var1"]): row["sdcor"] for row in rows}
    for term, unit, key in [
        ("SD of subjects' intercepts", "ms", ("Subject", "(Intercept)")),
        ("SD of subjects' slopes", "ms per day", ("Subject.1", "Days")),
        ("Residual SD", "ms", ("Residual", None)),
    ]:
        (estimate,) = find(
            rf"- {re.escape(term)} \({re.escape(unit)}\): {NUMBER}, 95% CI \[\?, \?\]", EXERCISE
        )
        assert_rounds_to(estimate, sds[key])
