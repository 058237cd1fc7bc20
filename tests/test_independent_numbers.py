"""Numbers the chapters compute that have no lme4 twin, checked independently.

nbval proves that a chapter's stored outputs are current, not that they are right: a
wrong formula whose outputs were refreshed passes it. Each test here reads a number as a
chapter prints it (its stored output) and recomputes it another way: a closed form, lme4's
values in data/lme4/, or a second, simpler computation written here. Each test names the
chapter and the printout it checks; the printouts are found by a line of their code, so
moving a cell does not break them, but changing what it prints means updating the test.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from bs4 import BeautifulSoup
from scipy import stats

import course
from conftest import ROOT

REFERENCE = course.load_lme4_reference("sleepstudy")


def cell_output(chapter: str, marker: str) -> dict:
    """The text outputs of the one code cell of ``chapter`` whose source contains ``marker``:
    {"stdout": ..., "text/plain": ..., "text/html": ...}."""
    notebook = json.loads((ROOT / "chapters" / f"{chapter}.ipynb").read_text())
    cells = [
        c for c in notebook["cells"] if c["cell_type"] == "code" and marker in "".join(c["source"])
    ]
    assert len(cells) == 1, (
        f"{chapter}: {len(cells)} code cells contain {marker!r}; update this test"
    )
    texts = {"stdout": ""}
    for output in cells[0].get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            texts["stdout"] += "".join(output["text"])
        for mime in ("text/plain", "text/html"):
            if mime in output.get("data", {}):
                texts[mime] = "".join(output["data"][mime])
    return texts


def html_rows(html: str) -> list[list[str]]:
    """The body rows of a pandas HTML table, index cells first."""
    body = BeautifulSoup(html, "html.parser").find("tbody")
    return [
        [cell.get_text(strip=True) for cell in row.find_all(["th", "td"])]
        for row in body.find_all("tr")
    ]


def lme4_fit(model: str, method: str) -> dict:
    return REFERENCE["models"][model][method]


def lme4_variance(model: str, method: str, term: str) -> float:
    for row in lme4_fit(model, method)["variance_components"]:
        if row["var1"] == term and row["var2"] is None:
            return row["vcov"]
    raise KeyError(term)


# Chapter 5 -------------------------------------------------------------------------------


def mixture(statistic: float, weights: dict[int, float]) -> float:
    """Tail of a mixture of chi-squares {df: weight}; chi-square(0) is a point mass at 0."""
    return sum(w * (stats.chi2.sf(statistic, df) if df else 0.0) for df, w in weights.items())


def test_chapter5_mixture_p_values_for_the_slope_variance():
    """'mixture p' of the intercepts-vs-correlated test: 0.5 chi2(1) + 0.5 chi2(2), from
    lme4's log-likelihoods (Self and Liang, 1987; Stram and Lee, 1994)."""
    printed = cell_output("05-model-comparison", "corrected = mixture_p_value(statistic, 1, 2)")[
        "stdout"
    ]
    lines = dict(re.findall(r"^(REML|ML): (.*)$", printed, flags=re.MULTILINE))
    assert set(lines) == {"REML", "ML"}, printed
    for method, line in lines.items():
        lr = 2 * (
            lme4_fit("correlated", method)["logLik"] - lme4_fit("intercepts", method)["logLik"]
        )
        printed_lr = float(re.search(r"LR = ([\d.]+)", line).group(1))
        naive = float(re.search(r"naive p \(chi2, 2 df\) = ([\d.e+-]+)", line).group(1))
        corrected = float(re.search(r"mixture p = ([\d.e+-]+)", line).group(1))
        assert printed_lr == pytest.approx(lr, abs=1e-4), method
        assert naive == pytest.approx(stats.chi2.sf(lr, 2), rel=1e-3), method
        assert corrected == pytest.approx(mixture(lr, {1: 0.5, 2: 0.5}), rel=1e-3), (
            f"chapter 5's {method} mixture p-value {corrected} is not 0.5 chi2(1) + 0.5 chi2(2) "
            f"of LR {lr:.4f} = {mixture(lr, {1: 0.5, 2: 0.5}):.4g}"
        )


def test_chapter5_mixture_p_value_for_the_uncorrelated_slope():
    """'mixture p' of intercepts vs uncorrelated (ML): 0.5 chi2(0) + 0.5 chi2(1)."""
    printed = cell_output("05-model-comparison", "mixture_p_value(statistic, 0, 1)")["stdout"]
    lr = 2 * (lme4_fit("uncorrelated", "ML")["logLik"] - lme4_fit("intercepts", "ML")["logLik"])
    assert float(re.search(r"LR = ([\d.]+)", printed).group(1)) == pytest.approx(lr, abs=1e-4)
    naive = float(re.search(r"naive p = ([\d.e+-]+)", printed).group(1))
    corrected = float(re.search(r"mixture p = ([\d.e+-]+)", printed).group(1))
    assert naive == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-3)
    assert corrected == pytest.approx(mixture(lr, {0: 0.5, 1: 0.5}), rel=1e-3), (
        f"chapter 5's mixture p-value {corrected} is not half the chi2(1) tail of LR {lr:.4f}"
    )


# Chapter 11 ------------------------------------------------------------------------------


def power_rows() -> list[dict]:
    """The chapter's power table, one dict per row, read by column name (the table may gain
    columns, such as Wilson intervals, without breaking this reader)."""
    html = cell_output("11-power-by-simulation", 'power_table["exact"] = [')["text/html"]
    header = BeautifulSoup(html, "html.parser").find("thead").find("tr")
    names = [cell.get_text(strip=True) for cell in header.find_all(["th", "td"])][1:]
    kinds = {"effect": str, "days": int, "subjects": int}
    rows = []
    for cells in html_rows(html):
        values = dict(zip(names, cells[1:], strict=True))
        rows.append({name: kinds.get(name, float)(value) for name, value in values.items()})
    assert len(rows) == 24
    assert {"effect", "days", "subjects", "power", "MC SE", "exact"} <= set(rows[0])
    return rows


def exact_two_stage_power(
    n_subjects: int,
    n_days: int,
    slope: float,
    slope_variance: float,
    residual_variance: float,
    alpha: float = 0.05,
) -> float:
    """Power of the two-stage t test by numerical integration over the t statistic's
    noncentral distribution, written independently of the chapter's formula: each subject's
    least-squares slope is normal with variance slope_variance + sigma^2 / Sxx."""
    days = np.arange(n_days)
    sxx = ((days - days.mean()) ** 2).sum()
    spread = np.sqrt(slope_variance + residual_variance / sxx)
    df = n_subjects - 1
    critical = stats.t.isf(alpha / 2, df)
    delta = slope / (spread / np.sqrt(n_subjects))
    # P(|Z + delta| > c * sqrt(V / df)), V ~ chi2(df): integrate over V.
    v = np.linspace(1e-9, stats.chi2.isf(1e-12, df), 200_001)
    threshold = critical * np.sqrt(v / df)
    reject = stats.norm.sf(threshold - delta) + stats.norm.cdf(-threshold - delta)
    return float(np.trapezoid(reject * stats.chi2.pdf(v, df), v))


def test_chapter11_exact_power_by_integration():
    """'exact' column: the simulation's model uses statsmodels' default REML fit of the
    correlated model, whose slope variance and residual variance match lme4's to 3-4 digits;
    the column is printed to 3 decimals."""
    slope = lme4_fit("correlated", "REML")["fixed_effects"][1]["estimate"]
    slope_variance = lme4_variance("correlated", "REML", "Days")
    residual = lme4_fit("correlated", "REML")["residual_variance"]
    for row in power_rows():
        effect = slope if row["effect"] == "observed slope" else slope / 2
        expected = exact_two_stage_power(
            row["subjects"], row["days"], effect, slope_variance, residual
        )
        assert row["exact"] == pytest.approx(expected, abs=0.0015), (
            f"chapter 11 exact power {row['exact']} for {row} differs from {expected:.4f}"
        )


def test_chapter11_monte_carlo_errors_are_binomial():
    """'MC SE' = sqrt(p (1 - p) / 1000) for 1000 simulated studies per row."""
    for row in power_rows():
        assert row["MC SE"] == pytest.approx(
            np.sqrt(row["power"] * (1 - row["power"]) / 1000), abs=0.0015
        )


def test_chapter11_simulated_power_agrees_with_exact_power():
    """The simulated power of each row lies within 4 Monte Carlo SEs (of the exact power)
    of the exact power, computed here; a wrong test statistic (an SD with ddof=0, say)
    shifts many rows at once."""
    slope = lme4_fit("correlated", "REML")["fixed_effects"][1]["estimate"]
    slope_variance = lme4_variance("correlated", "REML", "Days")
    residual = lme4_fit("correlated", "REML")["residual_variance"]
    z_scores = []
    for row in power_rows():
        effect = slope if row["effect"] == "observed slope" else slope / 2
        exact = exact_two_stage_power(
            row["subjects"], row["days"], effect, slope_variance, residual
        )
        se = np.sqrt(exact * (1 - exact) / 1000)
        if se > 0.002:
            z_scores.append((row["power"] - exact) / se)
            assert abs(z_scores[-1]) < 4, (
                f"chapter 11 simulated power {row} is {z_scores[-1]:.1f} SE from {exact:.3f}"
            )
    # 24 rows of independent draws: their mean z must be near 0 (SE about 1/sqrt(n)).
    assert abs(np.mean(z_scores)) < 4 / np.sqrt(len(z_scores)), z_scores


def test_chapter11_two_stage_standard_error_is_lmertests():
    """The two-stage SE printed for the real data (SD of 18 slopes with ddof=1, over
    sqrt(18)) equals lmerTest's SE of Days, and a simpler computation with np.polyfit."""
    html = cell_output(
        "11-power-by-simulation",
        "estimate, standard_error, p_value = course.two_stage_test(real.columns",
    )["text/html"]
    rows = {cells[0]: cells[1:] for cells in html_rows(html)}
    printed = float(rows["standard error"][0])
    sleep = course.load_sleepstudy()
    slopes = [
        np.polyfit(part["Days"], part["Reaction"], 1)[0] for _, part in sleep.groupby("Subject")
    ]
    simple = np.std(slopes, ddof=1) / np.sqrt(len(slopes))
    lmertest = lme4_fit("correlated", "REML")["fixed_effects"][1]["std_error"]
    assert simple == pytest.approx(lmertest, rel=1e-6)
    assert printed == pytest.approx(simple, rel=1e-5), (
        f"chapter 11's two-stage SE {printed} is not the ddof=1 SE of the subjects' slopes {simple:.6g}"
    )


# Chapter 1 -------------------------------------------------------------------------------


def test_chapter1_false_positive_rates_and_their_errors():
    """4000 simulated null studies: the t-test on subject means is exact, so its rate is
    0.05 within 4 binomial SEs; every 'Monte Carlo SE' is sqrt(r (1 - r) / 4000)."""
    printed = cell_output("01-why-hierarchy", "false_positives = pd.DataFrame(")["stdout"]
    rates = {}
    for label in ["OLS on all 180 rows", "t-test on 18 subject means", "mixed model (Wald z)"]:
        rate, se = map(
            float, re.search(re.escape(label) + r"\s+([\d.]+)\s+([\d.]+)", printed).groups()
        )
        assert se == pytest.approx(np.sqrt(rate * (1 - rate) / 4000), abs=6e-5), label
        rates[label] = rate
    assert abs(rates["t-test on 18 subject means"] - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 4000)


def test_chapter1_design_effect_prediction():
    """ICC of the simulation (SDs 37 and 31 ms), Kish's design effect 1 + (m - 1) ICC for
    m = 10 rows per subject, and the naive test's rate 2 P(Z > 1.96 / sqrt(deff))."""
    printed = cell_output("01-why-hierarchy", "design_effect = 1 + (N_PER_SUBJECT - 1) * rho")[
        "stdout"
    ]
    icc = 37.0**2 / (37.0**2 + 31.0**2)
    deff = 1 + 9 * icc
    assert f"ICC = {icc:.3f}, design effect = {deff:.2f}" in printed, printed
    assert (
        f"predicted naive false-positive rate = {2 * stats.norm.sf(1.96 / np.sqrt(deff)):.3f}"
        in printed
    )


def test_chapter1_rates_at_icc_zero_are_nominal():
    """With no subject variance every analysis is exact: both rates at ICC 0 are 0.05
    within 4 binomial SEs of 2000 simulated studies."""
    printed = cell_output("01-why-hierarchy", 'by_icc.pivot(index="ICC"')["stdout"]
    ols, means = map(
        float, re.search(r"^0\.00\s+([\d.]+)\s+([\d.]+)", printed, flags=re.MULTILINE).groups()
    )
    for rate in (ols, means):
        assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 2000), printed


# Chapter 6 -------------------------------------------------------------------------------


def test_chapter6_shrinkage_factor_and_predictions_from_lme4():
    """k = tau^2 / (tau^2 + sigma^2 / n) from lme4's REML random-intercept fit, and the
    predicted intercepts are lme4's conditional modes."""
    html = cell_output("06-partial-pooling", "check = shrinkage_check(intercepts, sleep)")[
        "text/html"
    ]
    tau2 = lme4_variance("intercepts", "REML", "(Intercept)")
    sigma2 = lme4_fit("intercepts", "REML")["residual_variance"]
    modes = {r["subject"]: r["mode"] for r in lme4_fit("intercepts", "REML")["conditional_modes"]}
    rows = html_rows(html)
    assert rows
    for subject, n, k, _, k_times, predicted in rows:
        assert float(k) == pytest.approx(tau2 / (tau2 + sigma2 / int(n)), abs=1e-4), subject
        assert float(predicted) == pytest.approx(modes[subject], abs=2e-3), subject
        assert float(k_times) == pytest.approx(modes[subject], abs=2e-3), subject


# Chapter 8 -------------------------------------------------------------------------------


def test_chapter8_prediction_interval_from_lme4():
    """The 95% prediction interval for a new subject: 1.96 sqrt(x' Sigma x + sigma^2 +
    x' V x), with lme4's REML covariance of the random effects (Sigma), residual variance
    and fixed-effects covariance (V); printed to 0.1 ms."""
    html = cell_output(
        "08-diagnostics-and-prediction", '"new subject PI half-width": z * np.sqrt('
    )["text/html"]
    fit = lme4_fit("correlated", "REML")
    sigma = np.array(
        [
            [lme4_variance("correlated", "REML", "(Intercept)"), 0.0],
            [0.0, lme4_variance("correlated", "REML", "Days")],
        ]
    )
    covariance = next(r["vcov"] for r in fit["variance_components"] if r["var2"] == "Days")
    sigma[0, 1] = sigma[1, 0] = covariance
    v = np.zeros((2, 2))
    index = {"(Intercept)": 0, "Days": 1}
    for r in fit["vcov_fixed"]:
        v[index[r["term1"]], index[r["term2"]]] = r["covariance"]
    beta = np.array([e["estimate"] for e in fit["fixed_effects"]])
    rows = html_rows(html)
    assert len(rows) == 10
    for days, between, within, fixed, line, ci, pi in rows:
        x = np.array([1.0, float(days)])
        half_width = stats.norm.isf(0.025) * np.sqrt(
            x @ sigma @ x + fit["residual_variance"] + x @ v @ x
        )
        assert float(pi) == pytest.approx(half_width, abs=0.1), f"chapter 8, day {days}"
        assert float(ci) == pytest.approx(stats.norm.isf(0.025) * np.sqrt(x @ v @ x), abs=0.1)
        assert float(line) == pytest.approx(x @ beta, abs=0.06)
