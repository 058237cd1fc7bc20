"""Chapter 7's filled-in reporting template, read from the notebook's stored output and
checked number by number against R.

The report is printed text (cell ``b35e6a82``); each number in it is compared with
lmerTest's Satterthwaite tests (contest1D with its confidence interval, in
reporting-reference.json; satterthwaite-reference.json), lme4's fit and likelihood-ratio
test (sleepstudy-reference.json) and lme4's profile intervals (confint), bootstrap, number
of groups, isSingular() and rePCA() (reporting-reference.json). A number printed to k
digits must equal R's value rounded to the same digits (within half a unit of its last
digit). The profile intervals of the two SDs, which statsmodels computes with the variance
ratio held fixed, must lie inside lme4's and within 2% of its ends. The exercise on the
uncorrelated model is checked the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

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


def t_interval(reference: dict) -> tuple[float, float]:
    """lmerTest's interval, estimate -+ qt(0.975, df) SE, from R's estimate, SE and df."""
    half = stats.t.ppf(0.975, reference["df"]) * reference["std_error"]
    return reference["estimate"] - half, reference["estimate"] + half


def check_against_lmertest(line: dict[str, str], reference: dict) -> None:
    """Every number of a fixed-effect line against lmerTest's row (with ``lower`` and
    ``upper`` from contest1D, or else from ``t_interval``)."""
    lower, upper = (
        (reference["lower"], reference["upper"]) if "lower" in reference else t_interval(reference)
    )
    for key, value in [
        ("estimate", reference["estimate"]),
        ("se", reference["std_error"]),
        ("df", reference["df"]),
        ("t", reference["t_value"]),
        ("p", reference["p_value"]),
        ("lower", lower),
        ("upper", upper),
    ]:
        assert_rounds_to(line[key], value)
    assert len(Decimal(line["p"]).as_tuple().digits) == 3, "p-values get 3 significant digits"


FIXED = [("Intercept", "(Intercept)", "ms, on day 0"), ("Days", "Days", "ms per day")]


CONTEST = {row["term"]: row for row in REPORTING["contest1D"]["tests"]}


@pytest.mark.parametrize("term, r_term, unit", FIXED)
def test_fixed_effects_agree_with_lmertest_contest1d(term, r_term, unit):
    check_against_lmertest(fixed_line(term, unit), CONTEST[r_term])


@pytest.mark.parametrize("_, r_term, __", FIXED)
def test_contest1d_is_the_t_interval_of_the_satterthwaite_table(_, r_term, __):
    """The two R files agree, and contest1D's interval is estimate -+ qt(0.975, df) SE (so
    the exercise's intervals can be checked from satterthwaite-reference.json)."""
    table = {row["term"]: row for row in SATTERTHWAITE["sleepstudy_correlated"]["satterthwaite"]}
    row, contest = table[r_term], CONTEST[r_term]
    for key in ["estimate", "std_error", "df", "t_value", "p_value"]:
        assert contest[key] == pytest.approx(row[key], rel=1e-6), key
    assert (contest["lower"], contest["upper"]) == pytest.approx(t_interval(contest), rel=1e-12)


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


PROFILE = {row["parameter"]: row for row in REPORTING["profile"]["intervals"]}


@pytest.mark.parametrize("term, unit, _, parameter", RANDOM[:2])
def test_sd_profile_intervals_are_slightly_inside_lme4s(term, unit, _, parameter):
    """statsmodels' profile holds the variance ratio fixed, so its interval is a little
    narrower than lme4's confint(): each printed end (3 significant digits) lies inside
    lme4's interval, less than 2% from its end."""
    _, lower, upper = random_line(term, unit)
    reference = PROFILE[parameter]
    for printed, end in [(lower, "lower"), (upper, "upper")]:
        assert len(Decimal(printed).as_tuple().digits) == 3
        half_unit = 0.5 * 10.0 ** Decimal(printed).as_tuple().exponent
        assert abs(float(printed) - reference[end]) <= 0.02 * abs(reference[end]), (end, printed)
    assert float(lower) >= reference["lower"] - half_unit
    assert float(upper) <= reference["upper"] + half_unit


@pytest.mark.parametrize("term, unit, _, parameter", RANDOM[2:])
def test_correlation_and_residual_sd_intervals_are_lme4s_profile(term, unit, _, parameter):
    _, lower, upper = random_line(term, unit)
    for printed, end in [(lower, "lower"), (upper, "upper")]:
        assert len(Decimal(printed).as_tuple().digits) == 3
        assert_rounds_to(printed, PROFILE[parameter][end])


def test_the_interval_method_is_named_and_no_bootstrap_interval_is_reported():
    ml = {
        (row["var1"], row["var2"]): row["sdcor"]
        for row in SLEEPSTUDY["models"]["correlated"]["ML"]["variance_components"]
    }
    sd_intercept, sd_slope = find(
        rf"95% CIs: profile likelihood of the ML fit, around the ML estimates {NUMBER} ms and "
        rf"{NUMBER} ms per day; the two SDs profiled in statsmodels"
    )
    assert_rounds_to(sd_intercept, ml[("(Intercept)", None)])
    assert_rounds_to(sd_slope, ml[("Days", None)])
    assert "the correlation and the residual SD from lme4's confint()" in REPORT
    assert "intervals of the random effects from the profile likelihood of the " in REPORT
    assert "replicates" not in REPORT


def test_the_correlation_methods_table_agrees_with_lme4():
    """Profile, percentile and basic intervals of the correlation, the basic one computed
    here from R's percentile ends and estimate."""
    boot = next(
        row for row in REPORTING["bootstrap"]["intervals"] if row["parameter"] == "correlation"
    )
    expected = {
        "profile likelihood (confint)": (
            PROFILE["correlation"]["lower"],
            PROFILE["correlation"]["upper"],
        ),
        f"bootstrap percentile ({REPORTING['bootstrap']['nsim']} replicates)": (
            boot["lower"],
            boot["upper"],
        ),
        "bootstrap basic (same replicates)": (
            2 * boot["estimate"] - boot["upper"],
            2 * boot["estimate"] - boot["lower"],
        ),
    }
    table = output_of("report-correlation-methods")
    for label, (lower, upper) in expected.items():
        printed_lower, printed_upper = find(rf"{re.escape(label)} {NUMBER} {NUMBER}", table)
        assert_rounds_to(printed_lower, lower)
        assert_rounds_to(printed_upper, upper)


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
    assert len(Decimal(chisq).as_tuple().digits) == 3
    assert_rounds_to(chisq, test["chisq"])
    assert_rounds_to(p, test["p_value"])
    assert p == "0.800", "three significant digits, trailing zero kept"


def test_convergence_and_boundary_statements_agree_with_lme4():
    assert "Convergence: no warnings; statsmodels' converged flag is True" in REPORT
    (threshold,) = find(
        r"the estimates, in statsmodels' parametrisation \(the fixed effects and the Cholesky "
        r"factor of the random-effects covariance relative to the residual variance\), is "
        r"below ([0-9.e-]+) "
    )
    assert float(threshold) == course.GRADIENT_THAT_MATTERS
    # A singular fit is judged from the estimates, not from intervals.
    assert "intervals below exclude" not in REPORT
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
    (lmertest,) = find(r"whose degrees of freedom agree with lmerTest (\S+) in the 4 significant")
    assert lmertest == REPORTING["contest1D"]["lmerTest"]
    assert "chapters/course.py: fit_tight, profile_sd, and satterthwaite" in REPORT
    # Versions of Python or the operating system would change with the machine.
    assert not re.search(r"Python \d|Linux|Windows|macOS", REPORT)


def three_digits(printed: str, value: float) -> None:
    """A number of the sentences in words: three significant digits, rounded from R's."""
    assert len(Decimal(printed).as_tuple().digits) == 3, printed
    assert_rounds_to(printed, value)


def test_the_sentences_in_words_agree_with_lme4():
    sds = r_variance_components("correlated")
    days = CONTEST["Days"]
    intercept, slope, lower, upper = find(
        rf"On day 0 the average reaction time was {NUMBER} ms\. Each further day in the study "
        rf"slowed it by {NUMBER} ms on average \(95% CI {NUMBER} to {NUMBER} ms\)"
    )
    three_digits(intercept, CONTEST["(Intercept)"]["estimate"])
    three_digits(slope, days["estimate"])
    three_digits(lower, days["lower"])
    three_digits(upper, days["upper"])
    sd_intercept, sd_slope, low, high, sigma = find(
        rf"on day 0 with an SD of {NUMBER} ms, and in how fast they slowed with an SD of {NUMBER} "
        rf"ms per day, so that, if slopes are normally distributed in the population of "
        rf"subjects, an estimated two thirds of them slow by between {NUMBER} and {NUMBER} ms "
        rf"per day\. Around their own line, a subject's reaction times scattered with an SD of "
        rf"{NUMBER} ms\."
    )
    three_digits(sd_intercept, sds[("(Intercept)", None)])
    three_digits(sd_slope, sds[("Days", None)])
    three_digits(low, days["estimate"] - sds[("Days", None)])
    three_digits(high, days["estimate"] + sds[("Days", None)])
    three_digits(sigma, sds[(None, None)])


def test_the_correlation_in_words_gives_its_range_not_a_non_relation():
    boot = next(
        row for row in REPORTING["bootstrap"]["intervals"] if row["parameter"] == "correlation"
    )
    estimate, lower, upper, boot_upper = find(
        rf"slopes was estimated near zero \({NUMBER}\), but the data are compatible with "
        rf"anything from a moderate negative to a strong positive correlation \(95% profile CI "
        rf"{NUMBER} to {NUMBER}; its upper end depends on the method: a parametric bootstrap's "
        rf"percentile interval reaches {NUMBER}\)"
    )
    assert_rounds_to(estimate, r_variance_components("correlated")[("(Intercept)", "Days")])
    assert_rounds_to(lower, PROFILE["correlation"]["lower"])
    assert_rounds_to(upper, PROFILE["correlation"]["upper"])
    assert_rounds_to(boot_upper, boot["upper"])
    assert not re.search(r"hardly related|unrelated|how fast they were", REPORT)


def test_the_blank_template_has_the_filled_ones_parts_and_no_numbers():
    parts = [
        "Model.",
        "Data.",
        "Estimation and software.",
        "Optimiser:",
        "Convergence:",
        "Boundary:",
        "Checks:",
        "Fixed effects (estimate, standard error, t test with Satterthwaite's degrees of freedom",
        "Random effects (SD or correlation; 95% CIs:",
        "In words:",
    ]
    for part in parts:
        assert part in BLANK and part in REPORT, part
    assert not re.search(r"\d\.\d", BLANK)
    assert "influence of single groups" in BLANK
    assert "Checks: residuals against fitted values and normal QQ plots" in REPORT


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


def test_singular_check_and_influence_range_agree_with_lme4():
    checks = course.load_lme4_reference("model-checks")
    theta = checks["singular_fits"]["sleepstudy_correlated"]["theta"]
    (smallest,) = find(rf"\(lme4's theta, unit-free\) is {NUMBER}, far above")
    # lme4's theta for (Days | Subject): [L11, L21, L22]; the diagonal is entries 0 and 2.
    assert_rounds_to(smallest, min(theta[0], theta[2]))
    subjects = checks["leave_one_subject_out"]["subjects"].values()
    without = [row["fixed_effects"]["Days"] for row in subjects]
    low, high = find(
        rf"leaving out one subject at a time moves the Days effect between {NUMBER} and "
        rf"{NUMBER} ms per day"
    )
    assert_rounds_to(low, min(without))
    assert_rounds_to(high, max(without))
