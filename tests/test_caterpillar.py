"""course.caterpillar_plot: order, interval ends, reference line and refused input.

Expected values are closed forms: the ends of a 95% interval are estimate -/+ 1.959964 x SE
(the 0.975 quantile of the standard normal, to seven digits), and the rows are the
estimates sorted by hand.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import course  # noqa: E402

Z_975 = 1.959964  # standard normal 0.975 quantile, 7 significant digits


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def drawn_intervals(ax):
    """(centre, lower, upper) per row, bottom to top, read back from the drawn artists."""
    container = ax.containers[0]
    points = container.lines[0].get_xydata()
    bars = container.lines[2][0].get_segments()
    return [(point[0], segment[0][0], segment[1][0]) for point, segment in zip(points, bars)]


def test_rows_are_sorted_by_estimate_and_labelled_with_their_group(ax):
    estimates = pd.Series({"a": 3.0, "b": -1.0, "c": 10.0, "d": 0.5})
    errors = pd.Series({"d": 1.0, "c": 2.0, "b": 0.5, "a": 0.0})  # another order on purpose
    course.caterpillar_plot(estimates, errors, ax, xlabel="Deviation (ms)")
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels == ["b", "d", "a", "c"]
    np.testing.assert_array_equal(ax.get_yticks(), [0, 1, 2, 3])
    centres = [centre for centre, _, _ in drawn_intervals(ax)]
    assert centres == [-1.0, 0.5, 3.0, 10.0]


def test_interval_ends_are_estimate_plus_minus_z_times_se(ax):
    estimates = pd.Series({"x": 10.0, "y": 20.0})
    errors = pd.Series({"x": 2.0, "y": 0.5})
    course.caterpillar_plot(estimates, errors, ax, xlabel="Slope (ms/day)")
    (x_c, x_lo, x_hi), (y_c, y_lo, y_hi) = drawn_intervals(ax)
    assert (x_lo, x_hi) == pytest.approx((10 - Z_975 * 2, 10 + Z_975 * 2), abs=1e-5)
    assert (y_lo, y_hi) == pytest.approx((20 - Z_975 * 0.5, 20 + Z_975 * 0.5), abs=1e-5)


def test_level_changes_the_width_and_a_zero_se_gives_a_point(ax):
    estimates = pd.Series({"x": 0.0, "y": 5.0})
    errors = pd.Series({"x": 1.0, "y": 0.0})
    course.caterpillar_plot(estimates, errors, ax, xlabel="ms", level=0.5)
    (_, x_lo, x_hi), (_, y_lo, y_hi) = drawn_intervals(ax)
    # the 0.75 quantile of the standard normal is 0.6744898
    assert x_hi == pytest.approx(0.6744898, abs=1e-6) and x_lo == pytest.approx(
        -0.6744898, abs=1e-6
    )
    assert y_lo == y_hi == 5.0


def test_labels_and_reference_line(ax):
    estimates = pd.Series({"308": 250.0, "309": 210.0})
    errors = pd.Series({"308": 12.0, "309": 12.0})
    course.caterpillar_plot(
        estimates, errors, ax, xlabel="Intercept (ms)", ylabel="Subject", reference=251.4
    )
    assert ax.get_xlabel() == "Intercept (ms)" and ax.get_ylabel() == "Subject"
    vertical = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), 251.4)]
    assert len(vertical) == 1


def test_no_reference_line_when_none(ax):
    course.caterpillar_plot(
        pd.Series({"a": 1.0}), pd.Series({"a": 1.0}), ax, xlabel="ms", reference=None
    )
    assert not any(np.allclose(line.get_xdata(), 0.0) for line in ax.get_lines())


@pytest.mark.parametrize(
    ("estimates", "errors", "options", "error", "message"),
    [
        (pd.Series(dtype=float), pd.Series(dtype=float), {}, ValueError, "No estimates"),
        (
            pd.Series([1.0, 2.0], index=["a", "a"]),
            pd.Series([1.0, 1.0], index=["a", "b"]),
            {},
            ValueError,
            "not unique",
        ),
        (pd.Series({"a": 1.0}), pd.Series({"b": 1.0}), {}, ValueError, "same group labels"),
        (pd.Series({"a": 1.0}), pd.Series({"a": -1.0}), {}, ValueError, "negative"),
        (pd.Series({"a": np.nan}), pd.Series({"a": 1.0}), {}, ValueError, "finite"),
        (pd.Series({"a": 1.0}), pd.Series({"a": np.inf}), {}, ValueError, "finite"),
        (pd.Series({"a": 1.0}), pd.Series({"a": 1.0}), {"level": 1.0}, ValueError, "level"),
        (pd.Series({"a": 1.0}), pd.Series({"a": 1.0}), {"level": 0.0}, ValueError, "level"),
        (np.array([1.0]), pd.Series({"a": 1.0}), {}, TypeError, "Series"),
    ],
)
def test_refused_input(ax, estimates, errors, options, error, message):
    with pytest.raises(error, match=message):
        course.caterpillar_plot(estimates, errors, ax, xlabel="ms", **options)


def test_the_sleepstudy_conditional_sds_give_lme4s_interval_widths(ax):
    """Drawn from statsmodels' random_effects_cov, the half-widths equal 1.96 times lme4's
    condVar SDs (data/lme4/conditional-variance-reference.json)."""
    import statsmodels.formula.api as smf

    reference = course.load_lme4_reference("conditional-variance")["models"]["full"]
    sleep = course.load_sleepstudy()
    fit = course.fit_tight(
        smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days")
    )
    slopes = pd.Series({s: effects["Days"] for s, effects in fit.random_effects.items()})
    sds = pd.Series(
        {s: np.sqrt(cov.loc["Days", "Days"]) for s, cov in fit.random_effects_cov.items()}
    )
    course.caterpillar_plot(slopes, sds, ax, xlabel="Slope deviation (ms/day)")
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    for label, (centre, lower, upper) in zip(labels, drawn_intervals(ax)):
        lme4 = reference["subjects"][label]
        assert centre == pytest.approx(lme4["mode"][1], rel=1e-5, abs=1e-6)
        half = (upper - lower) / 2
        assert half == pytest.approx(Z_975 * lme4["conditional_sd"][1], rel=1e-5)
    modes = [reference["subjects"][label]["mode"][1] for label in labels]
    assert modes == sorted(modes)
