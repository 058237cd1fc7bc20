"""The shared helpers compute what the chapters say they compute."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

import course  # noqa: E402


@pytest.fixture(scope="module")
def sleep():
    return course.load_sleepstudy()


@pytest.fixture(scope="module")
def intercepts_fit(sleep):
    return smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit()


def test_icc_is_between_over_total(intercepts_fit):
    between = float(intercepts_fit.cov_re.iloc[0, 0])
    assert course.icc(intercepts_fit) == pytest.approx(between / (between + intercepts_fit.scale))
    assert round(course.icc(intercepts_fit), 4) == 0.5893


def test_icc_refuses_a_random_slope_only_model(sleep):
    """One random effect, but a slope: two rows' correlation depends on Days, no ICC."""
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="0 + Days").fit()
    assert np.asarray(fit.cov_re).shape == (1, 1)
    with pytest.raises(ValueError, match="random slope, not a random intercept"):
        course.icc(fit)


def test_icc_refuses_one_observation_per_group(sleep):
    """Day 0 only: 18 subjects, 18 rows. Subject and residual variance are not identified."""
    day0 = sleep[sleep["Days"] == 0]
    with warnings.catch_warnings():
        # statsmodels fits it anyway (lme4 refuses); its warnings are not what is tested.
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("Reaction ~ 1", day0, groups="Subject").fit()
    with pytest.raises(ValueError, match="not identified"):
        course.icc(fit)


def test_icc_refuses_models_with_slopes(sleep):
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit()
    with pytest.raises(ValueError, match="random intercept only"):
        course.icc(fit)


def test_subject_coefficients_add_random_effects(intercepts_fit):
    table = course.subject_coefficients(intercepts_fit)
    assert table.shape == (18, 2)
    # Published value for subject 308: fixed intercept plus its random effect.
    assert table.loc["308", "Intercept"] == pytest.approx(292.188809, abs=5e-6)
    assert np.allclose(table["Days"], intercepts_fit.fe_params["Days"])
    # The random effects average to (almost) zero, so the mean intercept is the fixed one.
    assert table["Intercept"].mean() == pytest.approx(
        intercepts_fit.fe_params["Intercept"], abs=1e-6
    )


def test_subject_coefficients_for_variance_component_slopes(sleep):
    fit = smf.mixedlm(
        "Reaction ~ Days", sleep, groups="Subject", vc_formula={"Days": "0 + Days"}
    ).fit()
    table = course.subject_coefficients(fit)
    assert np.allclose(table["Intercept"], fit.fe_params["Intercept"])
    assert table.loc["308", "Days"] == pytest.approx(
        fit.fe_params["Days"] + fit.random_effects["308"]["Days[Days]"]
    )


def test_subject_coefficients_reject_a_random_effect_without_a_fixed_effect(sleep):
    # A random slope on Days with no fixed Days: there is no coefficient to add it to.
    fit = smf.mixedlm("Reaction ~ 1", sleep, groups="Subject", re_formula="0 + Days").fit()
    with pytest.raises(KeyError, match="'Days' has no matching fixed effect"):
        course.subject_coefficients(fit)


def test_subject_coefficients_with_groups_given_as_a_series(sleep, intercepts_fit):
    """groups=Series: statsmodels names the random intercept "Group", not "Subject"."""
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups=sleep["Subject"]).fit()
    assert list(fit.random_effects["308"].index) == ["Group"]
    table = course.subject_coefficients(fit, group_name="Participant")
    assert table.index.name == "Participant"
    expected = fit.fe_params["Intercept"] + pd.Series(
        {g: effects["Group"] for g, effects in fit.random_effects.items()}
    )
    assert np.allclose(table["Intercept"], expected.loc[table.index])
    # The same model as groups="Subject", so the same table.
    by_name = course.subject_coefficients(intercepts_fit)
    assert np.allclose(table.to_numpy(), by_name.loc[table.index].to_numpy(), atol=1e-6)


def test_subject_coefficients_with_a_categorical_random_effect(sleep):
    """re_formula with a categorical predictor: the column is called phase[T.training]."""
    data = sleep.assign(phase=np.where(sleep["Days"] < 3, "training", "restriction"))
    fit = smf.mixedlm("Reaction ~ phase", data, groups="Subject", re_formula="phase").fit()
    assert "phase[T.training]" in fit.random_effects["308"].index
    table = course.subject_coefficients(fit)
    assert list(table.columns) == ["Intercept", "phase[T.training]"]
    # Each subject's own coefficients reproduce the model's fitted values row by row.
    own = table.loc[data["Subject"]].to_numpy()
    training = (data["phase"] == "training").to_numpy(dtype=float)
    assert np.allclose(own[:, 0] + training * own[:, 1], fit.fittedvalues, atol=1e-8)


def test_subject_coefficients_refuse_a_nested_variance_component(sleep):
    """Per-level columns of C(...) deviate from no fixed effect: refused, not dropped."""
    data = sleep.assign(half=np.where(sleep["Days"] < 5, "first", "second"))
    with warnings.catch_warnings():
        # How well this model fits is beside the point; only its random-effect names matter.
        warnings.simplefilter("ignore")
        fit = smf.mixedlm(
            "Reaction ~ Days", data, groups="Subject", vc_formula={"half": "0 + C(half)"}
        ).fit()
    with pytest.raises(KeyError, match="no matching fixed effect"):
        course.subject_coefficients(fit)


def test_plot_subjects_draws_one_panel_and_line_per_subject(sleep, intercepts_fit):
    course.set_style()
    grid = course.plot_subjects(sleep, {"Fitted": intercepts_fit.fittedvalues}, title="Fit")
    assert len(grid.axes_dict) == 18
    first = grid.axes_dict["308"]
    assert len(first.lines) == 1 and len(first.collections) == 1
    assert first.get_title() == "Subject 308"
    assert grid.figure.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    plt.close(grid.figure)


def test_plot_subjects_legend_names_every_line_and_the_y_label_is_shown_once(sleep, intercepts_fit):
    lines = {"Fitted": intercepts_fit.fittedvalues, "Average": intercepts_fit.predict()}
    grid = course.plot_subjects(sleep, lines, title="Fit")
    legend = grid.figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == ["Fitted", "Average"]
    assert grid.figure.get_supylabel() == "Mean reaction time (ms)"
    assert all(ax.get_ylabel() == "" for ax in grid.axes.flat)
    plt.close(grid.figure)


def test_plot_subjects_rejects_misaligned_lines(sleep):
    with pytest.raises(ValueError, match="has 3 values for 180 rows"):
        course.plot_subjects(sleep, {"bad": sleep["Reaction"].head(3)}, title="x")


@pytest.fixture(scope="module")
def correlated_fit(sleep):
    return smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="Days").fit()


@pytest.mark.parametrize("fit_name", ["intercepts_fit", "correlated_fit"])
def test_predict_with_random_effects_reproduces_fitted_values(request, sleep, fit_name):
    fit = request.getfixturevalue(fit_name)
    predicted = course.predict_with_random_effects(fit, sleep, group="Subject")
    assert np.allclose(predicted, fit.fittedvalues, rtol=0, atol=1e-10)
    # The trap the helper exists for: predict() leaves the random effects out.
    assert not np.allclose(fit.predict(sleep), fit.fittedvalues, atol=1.0)


def test_predict_with_random_effects_by_hand_for_one_known_subject(sleep, correlated_fit):
    rows = sleep[sleep["Subject"] == "335"].iloc[[0, 9]]  # days 0 and 9
    own = course.subject_coefficients(correlated_fit).loc["335"]
    expected = own["Intercept"] + own["Days"] * rows["Days"].to_numpy()
    predicted = course.predict_with_random_effects(correlated_fit, rows)
    assert np.allclose(predicted, expected, rtol=0, atol=1e-10)
    assert list(predicted.index) == list(rows.index)


def test_predict_with_random_effects_gives_new_subjects_the_population_line(correlated_fit):
    new = pd.DataFrame({"Days": [0, 4, 9, 3], "Subject": ["new", "new", "new", "308"]})
    predicted = course.predict_with_random_effects(correlated_fit, new)
    beta = correlated_fit.fe_params
    population = beta["Intercept"] + beta["Days"] * new["Days"].to_numpy()
    assert np.allclose(predicted.iloc[:3], population[:3], rtol=0, atol=1e-10)
    known = correlated_fit.random_effects["308"]
    assert predicted.iloc[3] == pytest.approx(population[3] + known["Subject"] + 3 * known["Days"])


def test_predict_with_random_effects_handles_a_slope_only_random_effect(sleep):
    fit = smf.mixedlm("Reaction ~ Days", sleep, groups="Subject", re_formula="0 + Days").fit()
    predicted = course.predict_with_random_effects(fit, sleep)
    assert np.allclose(predicted, fit.fittedvalues, rtol=0, atol=1e-10)


def test_predict_with_random_effects_refuses_variance_components(sleep):
    fit = smf.mixedlm(
        "Reaction ~ Days", sleep, groups="Subject", vc_formula={"Days": "0 + Days"}
    ).fit()
    with pytest.raises(NotImplementedError, match="variance components"):
        course.predict_with_random_effects(fit, sleep)


def test_predict_with_random_effects_refuses_mismatched_group_types(correlated_fit):
    numeric_ids = pd.DataFrame({"Days": [1, 2], "Subject": [308, 309]})
    with pytest.raises(TypeError, match="convert one to the other"):
        course.predict_with_random_effects(correlated_fit, numeric_ids)


def test_fit_sleepstudy_models_fits_each_structure_by_the_method_asked(sleep):
    fits = course.fit_sleepstudy_models(sleep, reml=False)
    assert list(fits) == ["intercepts", "slopes", "correlated", "uncorrelated"]
    assert all(fit.method == "ML" and fit.converged for fit in fits.values())
    # (random-effects covariance size, number of variance components) of each structure
    shapes = {name: (fit.model.k_re, fit.model.k_vc) for name, fit in fits.items()}
    assert shapes == {
        "intercepts": (1, 0),
        "slopes": (1, 0),
        "correlated": (2, 0),
        "uncorrelated": (1, 1),
    }
    only = course.fit_sleepstudy_models(sleep, names=["intercepts"])
    assert list(only) == ["intercepts"] and only["intercepts"].method == "REML"
    # The default REML fit is the chapters' model 1; the tighter optimiser must not move it.
    assert only["intercepts"].llf == pytest.approx(
        smf.mixedlm("Reaction ~ Days", sleep, groups="Subject").fit().llf
    )


def test_varcorr_lays_out_cov_re_vcomp_and_scale(sleep):
    fits = course.fit_sleepstudy_models(sleep, names=["correlated", "uncorrelated"])
    table = course.varcorr(fits["correlated"])
    cov = np.asarray(fits["correlated"].cov_re)
    assert list(zip(table["term1"], table["term2"])) == [
        ("(Intercept)", ""),
        ("Days", ""),
        ("(Intercept)", "Days"),
        ("", ""),
    ]
    assert list(table["group"]) == ["Subject"] * 3 + ["Residual"]
    assert table["vcov"].tolist() == pytest.approx(
        [cov[0, 0], cov[1, 1], cov[0, 1], fits["correlated"].scale]
    )
    assert table["sdcor"].iloc[2] == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    assert table["sdcor"].iloc[3] == pytest.approx(np.sqrt(fits["correlated"].scale))
    table = course.varcorr(fits["uncorrelated"])
    assert list(table["term1"]) == ["(Intercept)", "Days", ""]
    assert table["vcov"].iloc[1] == pytest.approx(fits["uncorrelated"].vcomp[0])


def test_set_style_makes_jittered_figures_reproducible(sleep):
    def jittered_positions():
        course.set_style()
        fig, ax = plt.subplots()
        import seaborn as sns

        sns.stripplot(data=sleep, x="Days", y="Reaction", jitter=0.3, ax=ax)
        positions = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
        plt.close(fig)
        return positions

    first, second = jittered_positions(), jittered_positions()
    assert not np.allclose(first, np.round(first))  # the points really are jittered
    assert np.array_equal(first, second)


def test_plot_subjects_aligns_a_series_by_index_when_the_data_are_sorted_by_day(
    sleep, intercepts_fit
):
    """Data sorted by day: each panel must still show its own subject's fitted values."""
    by_day = sleep.sort_values(["Days", "Subject"])
    grid = course.plot_subjects(by_day, {"Fitted": intercepts_fit.fittedvalues}, title="Fit")
    for subject in ("308", "309", "337"):
        rows = sleep["Subject"] == subject
        expected = intercepts_fit.fittedvalues[rows].to_numpy()[np.argsort(sleep.loc[rows, "Days"])]
        line = grid.axes_dict[subject].lines[0]
        assert np.allclose(line.get_xdata(), np.sort(sleep.loc[rows, "Days"]))
        assert np.allclose(line.get_ydata(), expected)
    plt.close(grid.figure)


def test_plot_subjects_refuses_a_series_whose_index_does_not_match(sleep, intercepts_fit):
    renumbered = pd.Series(intercepts_fit.fittedvalues.to_numpy(), index=sleep.index + 1000)
    with pytest.raises(ValueError, match="has no value for the data's rows"):
        course.plot_subjects(sleep, {"Fitted": renumbered}, title="x")


def test_plot_subjects_takes_an_array_in_row_order(sleep, intercepts_fit):
    grid = course.plot_subjects(
        sleep, {"Fitted": intercepts_fit.fittedvalues.to_numpy()}, title="x"
    )
    rows = (sleep["Subject"] == "308").to_numpy()
    assert np.allclose(
        grid.axes_dict["308"].lines[0].get_ydata(), intercepts_fit.fittedvalues.to_numpy()[rows]
    )
    plt.close(grid.figure)
