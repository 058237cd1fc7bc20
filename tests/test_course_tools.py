"""The tools the chapters share (course.py, "Tools the chapters share"): the parts not
already checked against lme4 in test_chapter_references.py, test_lme4_parity.py and
test_power_two_stage.py."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.formula.api as smf

import course


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


def test_sd_correlation_of_a_known_matrix():
    # SDs 2 and 5, correlation 0.3: covariance 0.3 * 2 * 5 = 3.
    sds, correlation = course.sd_correlation(np.array([[4.0, 3.0], [3.0, 25.0]]))
    np.testing.assert_allclose(sds, [2.0, 5.0])
    np.testing.assert_allclose(correlation, [[1.0, 0.3], [0.3, 1.0]])


def test_sd_correlation_gives_nan_for_a_zero_variance_and_refuses_non_square_input():
    sds, correlation = course.sd_correlation(np.array([[4.0, 0.0], [0.0, 0.0]]))
    assert sds[1] == 0 and np.isnan(correlation[0, 1])
    with pytest.raises(ValueError, match="square"):
        course.sd_correlation(np.ones((2, 3)))


def test_fit_recording_warnings_names_each_warning_and_fit_quietly_refuses_them(sleep):
    pilot = sleep[sleep["Subject"].isin(["308", "309", "310"])]
    model = smf.mixedlm("Reaction ~ Days", pilot, groups="Subject", re_formula="Days")
    _, messages = course.fit_recording_warnings(model, reml=True, method="powell")
    assert messages and all(message.startswith("ConvergenceWarning: ") for message in messages)
    with pytest.raises(RuntimeError, match="Unexpected warnings"):
        course.fit_quietly(
            smf.mixedlm("Reaction ~ Days", pilot, groups="Subject", re_formula="Days"),
            reml=True,
            method="powell",
        )
    clean = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject")
    assert course.fit_quietly(clean, reml=True, **course.TIGHT_FIT).converged


def test_random_effects_pca_of_a_random_intercept_alone(sleep):
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit(**course.TIGHT_FIT)
    pca = course.random_effects_pca(fit)
    assert list(pca.index) == ["component 1"]
    assert pca["SD"].iloc[0] == pytest.approx(np.sqrt(fit.cov_re.iloc[0, 0] / fit.scale))
    assert pca["proportion"].iloc[0] == 1.0


def test_interval_from_profile_interpolates_and_refuses_a_short_profile():
    # zeta linear in the SD with slope 1 crosses +-1.959964 at 10 -+ 1.959964.
    sd = np.linspace(5, 15, 11)
    lower, upper = course.interval_from_profile(sd, sd - 10)
    assert (lower, upper) == pytest.approx((10 - 1.959964, 10 + 1.959964), abs=1e-6)
    with pytest.raises(ValueError, match="widen"):
        course.interval_from_profile(sd[4:7], sd[4:7] - 10)


def test_qq_plot_draws_points_and_the_mean_sd_line_in_the_house_colours():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import same_color
    from scipy import stats

    values = np.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, -6.0])
    fig, ax = plt.subplots()
    assert course.qq_plot(values, ax, ylabel="Residual (ms)", markersize=3) is ax
    points, line = ax.get_lines()
    # statsmodels' plotting positions i / (n + 1) (Weibull's, its default a = 0).
    np.testing.assert_allclose(points.get_xdata(), stats.norm.ppf(np.arange(1, 9) / 9))
    np.testing.assert_allclose(points.get_ydata(), np.sort(values))
    # line="s": intercept the mean, slope the SD of the values (divisor n).
    slope, intercept = np.polyfit(line.get_xdata(), line.get_ydata(), 1)
    assert intercept == pytest.approx(values.mean())
    assert slope == pytest.approx(values.std(ddof=0))
    assert same_color(points.get_color(), course.PALETTE[0])
    assert same_color(line.get_color(), course.PALETTE[1])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Normal quantile", "Residual (ms)")
    plt.close(fig)


def test_plot_subjects_draws_no_title_unless_asked(sleep):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    untitled = course.plot_subjects(sleep)
    assert untitled.figure._suptitle is None
    titled = course.plot_subjects(sleep, title="A title")
    assert titled.figure._suptitle.get_text() == "A title"
    plt.close("all")


def test_lme4_varcorr_merges_with_varcorr_for_an_uncorrelated_fit(sleep):
    reference = course.load_lme4_reference("sleepstudy")["models"]["uncorrelated"]["REML"]
    theirs = course.lme4_varcorr(reference)
    # lme4 names the || term's second group Subject.1; the table calls it Subject.
    assert list(theirs["group"]) == ["Subject", "Subject", "Residual"]
    assert list(theirs["term1"]) == ["(Intercept)", "Days", ""]
    ours = course.fit_sleepstudy_models(sleep, names=["uncorrelated"])["uncorrelated"]
    merged = course.varcorr(ours).merge(theirs, on=["group", "term1", "term2"])
    assert len(merged) == 3
    np.testing.assert_allclose(merged["vcov_x"].astype(float), merged["vcov_y"], rtol=1e-5)


def test_inline_figures_are_retina_palette_pngs():
    """set_style stores a notebook's figures as 256-colour PNGs drawn at twice the size they
    are shown at (the width and height in the metadata are half the image's)."""
    import base64
    import io

    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    shell = InteractiveShell.instance()
    course.set_style()
    figure, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("Days of the study")
    data, metadata = shell.display_formatter.format(figure)
    plt.close(figure)
    image = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
    assert image.mode == "P"
    assert len(image.getcolors(256) or []) <= 256
    assert metadata["image/png"] == {"width": image.width // 2, "height": image.height // 2}
