"""Helpers shared by the chapters of *Hierarchical models in Python*.

The chapters import this module as ``course``. In a clone of the repository (or on
Binder) it sits next to the notebooks and reads the data from ``../data``. A notebook
opened alone (Colab) first downloads this file, and this module then downloads the
data files it needs from ``$COURSE_BASE_URL/data/``; the notebooks' first cell sets
that variable from the repository address in ``_config.yml``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = [
    "DataFileError",
    "DATASETS",
    "data_file",
    "load_dataset",
    "load_sleepstudy",
    "load_lme4_reference",
    "set_style",
    "plot_subjects",
    "subject_coefficients",
    "icc",
    "predict_with_random_effects",
    "SLEEPSTUDY_MODELS",
    "fit_sleepstudy_models",
    "varcorr",
]


class DataFileError(RuntimeError):
    """A course data file is missing or does not have the expected shape."""


@dataclass(frozen=True)
class DatasetSpec:
    filename: str
    columns: dict  # column name -> "float", "int" or "str"
    rows: int


DATASETS = {
    "sleepstudy": DatasetSpec(
        "sleepstudy.csv", {"Reaction": "float", "Days": "int", "Subject": "str"}, 180
    ),
    "cbpp": DatasetSpec(
        "cbpp.csv", {"herd": "str", "incidence": "int", "size": "int", "period": "str"}, 56
    ),
    "crossed-ratings": DatasetSpec(
        "crossed-ratings.csv",
        {"participant": "str", "stimulus": "str", "category": "str", "cond": "float", "rating": "float"},
        1200,
    ),
}

_MODULE_DIR = Path(__file__).resolve().parent


def _local_candidates(filename: str) -> list[Path]:
    # A clone keeps data/ beside chapters/; a lone notebook keeps it in its working folder.
    return [_MODULE_DIR.parent / "data" / filename, Path.cwd() / "data" / filename]


def data_file(filename: str) -> Path:
    """Return the path of a course data file, downloading it only if no local copy exists."""
    for candidate in _local_candidates(filename):
        if candidate.is_file():
            return candidate
    base_url = os.environ.get("COURSE_BASE_URL")
    if not base_url:
        searched = ", ".join(str(p) for p in _local_candidates(filename))
        raise DataFileError(
            f"Cannot find the data file {filename!r} (looked in {searched}) and "
            "COURSE_BASE_URL is not set, so it cannot be downloaded. Run the notebook "
            "from a clone of the course repository, or run its first cell."
        )
    target = Path.cwd() / "data" / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{base_url.rstrip('/')}/data/{filename}"
    try:
        urllib.request.urlretrieve(url, target)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise DataFileError(f"Could not download {url}: {exc}") from exc
    return target


def load_dataset(name: str) -> pd.DataFrame:
    """Read one of the course's data sets and check its columns, types and size."""
    if name not in DATASETS:
        raise KeyError(f"Unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    path = data_file(spec.filename)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path} is not a readable CSV file: {exc}") from exc

    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataFileError(
            f"{path} lacks the column(s) {missing}; expected {list(spec.columns)}, "
            f"found {list(frame.columns)}."
        )
    frame = frame[list(spec.columns)]
    if len(frame) != spec.rows:
        raise DataFileError(f"{path} has {len(frame)} rows; expected {spec.rows}.")
    if frame.isna().any().any():
        bad = frame.columns[frame.isna().any()].tolist()
        raise DataFileError(f"{path} has missing values in column(s) {bad}.")
    for column, kind in spec.columns.items():
        if kind == "str":
            frame[column] = frame[column].astype(str)
            continue
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataFileError(
                f"{path}: column {column!r} should be numeric but holds values such as "
                f"{frame[column].iloc[0]!r}."
            )
        if kind == "int":
            if not np.all(np.equal(np.mod(frame[column], 1), 0)):
                raise DataFileError(f"{path}: column {column!r} should hold whole numbers.")
            frame[column] = frame[column].astype("int64")
        else:
            frame[column] = frame[column].astype("float64")
    return frame


def load_sleepstudy() -> pd.DataFrame:
    """The sleepstudy data: 180 rows of ``Reaction`` (ms), ``Days`` (0-9) and ``Subject``."""
    return load_dataset("sleepstudy")


def load_lme4_reference(name: str) -> dict:
    """lme4's reference values stored in ``data/lme4/<name>-reference.json``.

    The files are written by the R scripts beside them (see data/lme4/README.md); a
    notebook reads them instead of running R.
    """
    path = data_file(f"lme4/{name}-reference.json")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path} is not valid JSON: {exc}") from exc


# Okabe-Ito colours stay distinguishable under the common forms of colour blindness.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def _retina_inline_figures() -> None:
    """In a notebook, store figures at double resolution (a no-op outside IPython)."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def set_style() -> None:
    """One look for every figure: white background (readable in dark mode), modest size.

    Figures are stored as "retina" PNGs in a notebook: drawn at twice 80 dpi and shown at
    the size an 80 dpi figure would have, so a high-density screen gets two image pixels
    per screen pixel and a reader who taps a figure on the site sees it at full size.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.9)
    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 80,
            "savefig.dpi": 80,
            # The inline backend draws at 2 x figure.dpi and tells the page to show half.
            "figure.figsize": (7.0, 4.2),
            "axes.titleweight": "bold",
        }
    )
    _retina_inline_figures()
    # seaborn's stripplot jitters points with NumPy's global generator; seeding it here
    # makes every figure the same on every run, like every other random draw in the course.
    np.random.seed(20031)


def plot_subjects(
    data: pd.DataFrame,
    lines: dict[str, pd.Series] | None = None,
    *,
    title: str,
    x: str = "Days",
    y: str = "Reaction",
    group: str = "Subject",
    col_wrap: int = 6,
    xlabel: str = "Days of the study",
    ylabel: str = "Mean reaction time (ms)",
):
    """One small panel per subject: observed points, plus one line per entry of ``lines``.

    ``lines`` maps a legend label to a Series aligned with ``data`` (for instance a
    model's ``fittedvalues``). Returns the seaborn FacetGrid; the caller shows it.
    """
    lines = lines or {}
    for label, values in lines.items():
        if len(values) != len(data):
            raise ValueError(f"Line {label!r} has {len(values)} values for {len(data)} rows.")
    order = list(dict.fromkeys(data[group]))
    grid = sns.FacetGrid(data, col=group, col_order=order, col_wrap=col_wrap, height=1.6, aspect=1.1)
    grid.map_dataframe(sns.scatterplot, x=x, y=y, color="0.25", s=14, linewidth=0)
    styles = ["-", "--", ":", "-."]
    for number, (label, values) in enumerate(lines.items()):
        frame = data[[x, group]].assign(_value=np.asarray(values))
        for subject, ax in grid.axes_dict.items():
            part = frame[frame[group] == subject].sort_values(x)
            ax.plot(
                part[x], part["_value"], color=PALETTE[number % len(PALETTE)],
                linestyle=styles[number % len(styles)], linewidth=1.6, label=label,
            )
    grid.set_titles(col_template=f"{group} {{col_name}}")
    # One y label for the whole figure: a label per row overlaps the rows above and below.
    grid.set_axis_labels(xlabel, "")
    grid.figure.supylabel(ylabel)
    if lines:
        # add_legend() alone only knows seaborn's own artists, not the lines drawn above.
        handles, labels = grid.axes.flat[0].get_legend_handles_labels()
        grid.add_legend(legend_data=dict(zip(labels, handles)))
    grid.figure.suptitle(title, y=1.02, fontweight="bold")
    return grid


def subject_coefficients(result, group_name: str = "Subject") -> pd.DataFrame:
    """Each group's own coefficients: fixed effects plus that group's predicted random effects.

    statsmodels names a random intercept after the grouping variable (``Subject``), a
    random slope after its term (``Days``), and a variance-component slope as
    ``component[term]`` (``Days[Days]``); all are matched to fixed effects here.
    """
    fixed = result.fe_params
    rows = {}
    for group, effects in result.random_effects.items():
        coefs = fixed.copy()
        for name, value in effects.items():
            term = name.split("[", 1)[1].rstrip("]") if "[" in name else name
            if name == group_name and "Intercept" in fixed.index:
                term = "Intercept"
            if term not in coefs.index:
                raise KeyError(f"Random effect {name!r} has no matching fixed effect.")
            coefs[term] += value
        rows[group] = coefs
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(group_name)


def icc(result) -> float:
    """Intraclass correlation of a random-intercept model: between / (between + residual)."""
    cov_re = np.asarray(result.cov_re)
    if cov_re.shape != (1, 1) or result.model.k_vc:
        raise ValueError("The ICC is defined here for a model with a random intercept only.")
    between = float(cov_re[0, 0])
    return between / (between + float(result.scale))


def predict_with_random_effects(result, data: pd.DataFrame, group: str = "Subject") -> pd.Series:
    """Predictions that include each known group's predicted random effects.

    ``result.predict(data)`` of a mixed model gives the fixed-effects (population) part
    only. This adds, for every row whose ``group`` value was in the fitted data, that
    group's predicted random effects (``result.random_effects``) times the row's
    random-effects design: 1 for a random intercept, the variable itself for a random
    slope such as ``Days``. On the fitted data it reproduces ``result.fittedvalues``.

    Rows of a group the model has not seen get the population prediction: the best guess
    for a new group's random effects is their mean, zero. Such a prediction says nothing
    about how far a new group may lie from the population line; see chapter 8 for an
    interval that does.

    Supported: the default random intercept, and ``re_formula`` models whose random-effects
    columns are an intercept and/or plain numeric columns of ``data`` (``"Days"``,
    ``"0 + Days"``). Models with variance components (``vc_formula``) raise
    ``NotImplementedError``: write an independent slope as ``re_formula="0 + Days"`` instead.
    """
    model = result.model
    if model.k_vc:
        raise NotImplementedError(
            "predict_with_random_effects does not support models with variance components "
            "(vc_formula). A random slope alone can be written re_formula='0 + Days'."
        )
    if group not in data.columns:
        raise KeyError(f"The data have no column {group!r} that names the groups.")
    labels = pd.Series(list(model.group_labels))
    if pd.api.types.is_string_dtype(labels) != pd.api.types.is_string_dtype(data[group]):
        # 308 and "308" never match, which would silently give every row the population line.
        raise TypeError(
            f"The column {group!r} holds {data[group].dtype} values but the model's groups are "
            f"{'text' if pd.api.types.is_string_dtype(labels) else 'numbers'}; convert one to the other."
        )

    # The random intercept is the column of ones in the model's random-effects design; its
    # name is the grouping variable's, so it must not be looked up in the data.
    names = list(model.data.exog_re_names)
    exog_re = np.asarray(model.exog_re)
    design = {}
    for column, name in enumerate(names):
        if np.all(exog_re[:, column] == 1.0):
            design[name] = np.ones(len(data))
        elif name in data.columns and pd.api.types.is_numeric_dtype(data[name]):
            design[name] = data[name].to_numpy(dtype=float)
        else:
            raise NotImplementedError(
                f"The random effect {name!r} is not an intercept or a numeric column of the "
                "data, so its design for new rows cannot be rebuilt here."
            )

    fixed = np.asarray(result.predict(data), dtype=float)
    random_part = np.zeros(len(data))
    effects = result.random_effects
    for position, label in enumerate(data[group]):
        if label in effects:
            random_part[position] = sum(
                design[name][position] * value for name, value in effects[label].items()
            )
    return pd.Series(fixed + random_part, index=data.index, name="predicted")


# The four sleepstudy models the course compares, keyed by the names used throughout (and in
# data/lme4/sleepstudy-reference.json): lme4's formula and statsmodels' arguments for it.
SLEEPSTUDY_MODELS = {
    "intercepts": {"lme4": "Reaction ~ Days + (1 | Subject)", "statsmodels": {}},
    "slopes": {
        "lme4": "Reaction ~ Days + (0 + Days | Subject)",
        "statsmodels": {"re_formula": "0 + Days"},
    },
    "correlated": {
        "lme4": "Reaction ~ Days + (Days | Subject)",
        "statsmodels": {"re_formula": "Days"},
    },
    "uncorrelated": {
        "lme4": "Reaction ~ Days + (Days || Subject)",
        # An uncorrelated slope is a variance component of its own; re_formula="1" keeps
        # the random intercept, which a vc_formula alone would drop.
        "statsmodels": {"re_formula": "1", "vc_formula": {"Days": "0 + Days"}},
    },
}


def fit_sleepstudy_models(data: pd.DataFrame, reml: bool = True, names=None) -> dict:
    """Fit the course's sleepstudy models (``SLEEPSTUDY_MODELS``) by REML or ML.

    Returns a dict from model name to statsmodels' result. The optimiser runs to a gradient
    tolerance of 1e-8 instead of statsmodels' default 1e-5 (BFGS), so that the estimates
    agree with lme4's to about seven significant digits instead of four or five.
    """
    import statsmodels.formula.api as smf

    names = list(SLEEPSTUDY_MODELS) if names is None else list(names)
    return {
        name: smf.mixedlm(
            "Reaction ~ Days", data, groups="Subject", **SLEEPSTUDY_MODELS[name]["statsmodels"]
        ).fit(reml=reml, method="bfgs", gtol=1e-8)
        for name in names
    }


def varcorr(result, group_name: str = "Subject") -> pd.DataFrame:
    """Random-effects variances, covariances, SDs and correlations, one row each, laid out as
    lme4's ``as.data.frame(VarCorr(fit))``.

    Columns: ``group`` (``group_name``, or ``Residual``), ``term1``, ``term2`` (empty for a
    variance), ``vcov`` (the variance or covariance) and ``sdcor`` (the SD or the
    correlation). The random intercept is called ``(Intercept)`` as in lme4 (statsmodels
    names it after the grouping variable); a variance component is named after its
    ``vc_formula`` key. Variances come first, then covariances, then the residual.
    """
    model = result.model
    cov = np.asarray(result.cov_re, dtype=float)
    names = []
    if cov.size:
        exog_re = np.asarray(model.exog_re)
        for column, name in enumerate(model.data.exog_re_names):
            names.append("(Intercept)" if np.all(exog_re[:, column] == 1.0) else name)
    rows = [(name, "", cov[i, i], np.sqrt(cov[i, i])) for i, name in enumerate(names)]
    if model.k_vc:
        for name, variance in zip(model.exog_vc.names, np.asarray(result.vcomp, dtype=float)):
            rows.append((name, "", variance, np.sqrt(variance)))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            correlation = cov[i, j] / np.sqrt(cov[i, i] * cov[j, j])
            rows.append((names[i], names[j], cov[i, j], correlation))
    rows = [(group_name, *row) for row in rows]
    rows.append(("Residual", "", "", float(result.scale), float(np.sqrt(result.scale))))
    return pd.DataFrame(rows, columns=["group", "term1", "term2", "vcov", "sdcor"])


# ---------------------------------------------------------------------------------------
# Small-sample inference: Satterthwaite t-tests and the parametric bootstrap.
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Checking a fitted model: convergence, boundary (singular) fits, influence.
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Tools the chapters share: model comparison, profiles, power.
# ---------------------------------------------------------------------------------------
