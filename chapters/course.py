"""Helpers shared by the chapters of *Hierarchical models in Python*.

The chapters import this module as ``course``. In a clone of the repository (or on
Binder) it sits next to the notebooks and reads the data from ``../data``. A notebook
opened alone (Colab) first downloads this file, and this module then downloads the
data files it needs from ``$COURSE_BASE_URL/data/``; the notebooks' first cell sets
that variable from the repository address in ``_config.yml``.
"""

from __future__ import annotations

import hashlib
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
    "GRADIENT_THAT_MATTERS",
    "fit_tight",
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
    sha256: str  # as published in data/README.md (tests/test_data_checks.py checks they agree)
    key: tuple = ()  # columns that identify a row: no two rows may share their values


DATASETS = {
    "sleepstudy": DatasetSpec(
        "sleepstudy.csv",
        {"Reaction": "float", "Days": "int", "Subject": "str"},
        180,
        "0a002bec8be2fa9d40dbbf3d5038e614d113a4fd5bf8813f6f4271c3d6294675",
        ("Subject", "Days"),
    ),
    "cbpp": DatasetSpec(
        "cbpp.csv",
        {"herd": "str", "incidence": "int", "size": "int", "period": "str"},
        56,
        "1a2c82ed41e8b4168d943848b61eebfe5d8a79af24e534c6551df0c41e1e17ba",
        ("herd", "period"),
    ),
    "crossed-ratings": DatasetSpec(
        "crossed-ratings.csv",
        {
            "participant": "str",
            "stimulus": "str",
            "category": "str",
            "cond": "float",
            "rating": "float",
        },
        1200,
        "853fb173ca4d0ca8f4ef23e0c26424a16fbf065f8d5625aa2c206e6737b1b5dc",
        ("participant", "stimulus"),
    ),
    "sleepstudy-dropouts": DatasetSpec(
        "sleepstudy-dropouts.csv",
        {"Subject": "str", "Days": "int"},
        26,
        "01373ee5e050f8115bccfaea72910305a83bbf7f5af5101d29a73270887d6ec9",
        ("Subject", "Days"),
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
    """Read one of the course's data sets and check it before anything is computed from it.

    ``name`` is a key of ``DATASETS``. Returns the data as a DataFrame with the columns and
    types of its ``DatasetSpec``. Raises ``KeyError`` for an unknown name and
    ``DataFileError`` for a file that is missing, unreadable, lacks a column, has the wrong
    number of rows, missing or mistyped values, a repeated row (for sleepstudy: the same
    subject and day twice), or content whose sha256 differs from the one published in
    data/README.md (an edited value, say). The message names the file and the problem.
    """
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
    if spec.key:
        repeated = frame[frame.duplicated(list(spec.key), keep=False)]
        if len(repeated):
            first = ", ".join(f"{k} {repeated.iloc[0][k]}" for k in spec.key)
            raise DataFileError(
                f"{path} has {len(repeated)} rows that share their {' and '.join(spec.key)} "
                f"(the first: {first}); each {' and '.join(spec.key)} must appear once."
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != spec.sha256:
        raise DataFileError(
            f"{path} is not the course's {spec.filename}: its sha256 is {digest}, the published "
            f"one (data/README.md) is {spec.sha256}. A value was changed or the file was damaged; "
            "restore it from the repository (or delete it, so that a lone notebook downloads it again)."
        )
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
        from matplotlib.figure import Figure
        from matplotlib_inline.config import InlineBackend

        options = dict(InlineBackend.instance().print_figure_kwargs)
        png_formatter = get_ipython().display_formatter.formatters["image/png"]
        png_formatter.for_type(Figure, lambda figure: _palette_retina_figure(figure, **options))


def _palette_retina_figure(figure, **options):
    """IPython's retina PNG of ``figure`` with at most 256 colours: the course's figures are
    line art on white, and a palette PNG of one is about a third of the bytes, which keeps
    a chapter's first visit light (tests/test_page_weight.py)."""
    import base64
    import io

    from IPython.core.pylabtools import retina_figure
    from PIL import Image

    result = retina_figure(figure, base64=False, **options)
    if result is None:
        return None
    png, metadata = result
    palette = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
        palette, "PNG", optimize=True
    )
    return base64.b64encode(palette.getvalue()).decode("ascii"), metadata


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
    title: str | None = None,
    x: str = "Days",
    y: str = "Reaction",
    group: str = "Subject",
    col_wrap: int = 6,
    xlabel: str = "Days of the study",
    ylabel: str = "Mean reaction time (ms)",
):
    """One small panel per subject: observed points, plus one line per entry of ``lines``.

    ``lines`` maps a legend label to one value per row of ``data`` (for instance a model's
    ``fittedvalues``). A Series is matched to the rows by its index, so data sorted
    differently from the fit still get each subject's own values; an array or list has no
    index and is taken in the order of the rows. ``title`` is drawn above the panels only if
    given: in the book a figure's caption is its title, so the chapters leave it out. Raises
    ``ValueError`` when a line has another number of values than ``data`` has rows, or when
    a Series' index does not hold every row label of ``data`` exactly once. Returns the
    seaborn FacetGrid; the caller shows it.
    """
    lines = lines or {}
    aligned = {}
    for label, values in lines.items():
        if len(values) != len(data):
            raise ValueError(f"Line {label!r} has {len(values)} values for {len(data)} rows.")
        aligned[label] = _align_to_rows(label, values, data)
    lines = aligned
    order = list(dict.fromkeys(data[group]))
    grid = sns.FacetGrid(
        data, col=group, col_order=order, col_wrap=col_wrap, height=1.6, aspect=1.1
    )
    grid.map_dataframe(sns.scatterplot, x=x, y=y, color="0.25", s=14, linewidth=0)
    styles = ["-", "--", ":", "-."]
    for number, (label, values) in enumerate(lines.items()):
        frame = data[[x, group]].assign(_value=values)
        for subject, ax in grid.axes_dict.items():
            part = frame[frame[group] == subject].sort_values(x)
            ax.plot(
                part[x],
                part["_value"],
                color=PALETTE[number % len(PALETTE)],
                linestyle=styles[number % len(styles)],
                linewidth=1.6,
                label=label,
            )
    grid.set_titles(col_template=f"{group} {{col_name}}")
    # One y label for the whole figure: a label per row overlaps the rows above and below.
    grid.set_axis_labels(xlabel, "")
    grid.figure.supylabel(ylabel)
    if lines:
        # add_legend() alone only knows seaborn's own artists, not the lines drawn above.
        handles, labels = grid.axes.flat[0].get_legend_handles_labels()
        grid.add_legend(legend_data=dict(zip(labels, handles)))
    if title:
        grid.figure.suptitle(title, y=1.02, fontweight="bold")
    return grid


def _align_to_rows(label: str, values, data: pd.DataFrame) -> np.ndarray:
    """The values of one line in the order of ``data``'s rows (by index for a Series)."""
    if not isinstance(values, pd.Series):
        return np.asarray(values, dtype=float)
    if not (values.index.is_unique and data.index.is_unique):
        raise ValueError(
            f"Line {label!r} or the data have repeated index labels; "
            "rows cannot be matched to values."
        )
    missing = data.index.difference(values.index)
    if len(missing):
        raise ValueError(
            f"Line {label!r} has no value for the data's rows "
            f"{list(missing[:5])}{' ...' if len(missing) > 5 else ''}: its index "
            "does not match the data's (pass .to_numpy() to pair them by position)."
        )
    return values.reindex(data.index).to_numpy(dtype=float)


def _random_effect_terms(result) -> dict[str, str]:
    """Map each name in ``result.random_effects`` to the fixed effect it deviates from.

    A random-effects column of ones (whatever statsmodels called it: the grouping
    variable's name, or ``Group`` when ``groups`` was given as an array) is the intercept;
    another ``re_formula`` column keeps its design name (``Days``, ``phase[T.training]``);
    a variance component ``name[column]`` deviates from the fixed effect ``column`` (its
    ``Intercept`` column from the fixed intercept). Raises ``KeyError`` for any random
    effect with no fixed effect of that name, e.g. the per-level columns of a nested or
    crossed variance component (``0 + C(herd)``), which are not deviations of a fixed effect.
    """
    model = result.model
    fixed = result.fe_params.index
    terms = {}
    exog_re = np.asarray(model.exog_re) if model.k_re else np.empty((0, 0))
    for column, name in enumerate(model.data.exog_re_names if model.k_re else []):
        terms[name] = "Intercept" if np.all(exog_re[:, column] == 1.0) else name
    components = list(model.exog_vc.names) if model.k_vc else []
    for group_effects in result.random_effects.values():
        for name in group_effects.index:
            if name in terms:
                continue
            component = next(
                (c for c in components if name.startswith(c + "[") and name.endswith("]")), None
            )
            if component is None:
                raise KeyError(
                    f"Random effect {name!r} is neither a random-effects column nor "
                    "a variance component of the model."
                )
            terms[name] = name[len(component) + 1 : -1]
    for name, term in terms.items():
        if term not in fixed:
            raise KeyError(
                f"Random effect {name!r} has no matching fixed effect ({term!r} is not among "
                f"{list(fixed)}), so a group's own coefficient cannot be formed. A random "
                "effect deviates from a fixed effect of the same name: add the term to the "
                "fixed part, or read result.random_effects directly."
            )
    return terms


def subject_coefficients(result, group_name: str = "Subject") -> pd.DataFrame:
    """Each group's own coefficients: fixed effects plus that group's predicted random effects.

    ``result`` is any fitted statsmodels ``MixedLM`` result. Returns a DataFrame with one
    row per group (index named ``group_name``, a label only) and one column per fixed
    effect, in the units of the fixed effects: a fixed effect without a random deviation
    is the same in every row.

    Random effects are matched to fixed effects by ``_random_effect_terms``: a random
    intercept (a column of ones, which statsmodels names after the grouping variable, or
    ``Group`` when ``groups`` is an array or Series) to ``Intercept``; an ``re_formula``
    column by its name, including categorical columns such as ``phase[T.training]``; a
    variance component ``Days[Days]`` to ``Days``. Raises ``KeyError`` when a random effect
    has no fixed effect of its name (for instance a nested or crossed variance component),
    rather than returning a table that silently leaves it out.
    """
    terms = _random_effect_terms(result)
    fixed = result.fe_params
    rows = {}
    for group, effects in result.random_effects.items():
        coefs = fixed.copy()
        for name, value in effects.items():
            coefs[terms[name]] += value
        rows[group] = coefs
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(group_name)


def icc(result) -> float:
    """Intraclass correlation of a random-intercept model: between / (between + residual).

    ``result`` is a fitted statsmodels ``MixedLM`` result whose only random effect is a
    random intercept per group. Returns tau^2 / (tau^2 + sigma^2), a number in [0, 1]: the
    share of the variance around the fixed-effects line that lies between groups, and the
    correlation of two observations of one group (the "adjusted" ICC of Nakagawa, Johnson
    & Schielzeth, 2017).

    Raises ``ValueError`` when no such ICC exists or it is not identified: a model with
    random slopes or variance components (the correlation then depends on the predictor;
    a model with a random slope and no random intercept has no ICC at all), or data with
    one observation per group, where the group and residual variances cannot be told
    apart (lme4 refuses to fit such a model).
    """
    model = result.model
    cov_re = np.asarray(result.cov_re)
    if cov_re.shape != (1, 1) or model.k_vc:
        raise ValueError("The ICC is defined here for a model with a random intercept only.")
    if not np.all(np.asarray(model.exog_re)[:, 0] == 1.0):
        raise ValueError(
            f"The model's only random effect, {model.data.exog_re_names[0]!r}, is a random "
            "slope, not a random intercept: the correlation of two observations of a group "
            "then depends on their predictor values, and there is no ICC."
        )
    if model.n_groups >= len(model.endog):
        raise ValueError(
            "Every group has a single observation, so the between-group and residual "
            "variances are not identified (only their sum is) and the ICC is meaningless; "
            "lme4 refuses to fit such a model. An ICC needs repeated observations per group."
        )
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


# The largest score (gradient of the whole log-likelihood, in statsmodels' parameters: the
# fixed effects and the Cholesky factor of the random-effects covariance relative to the
# residual variance) that fit_tight accepts. It is the number of statsmodels' default BFGS
# tolerance, but stricter: statsmodels applies its gtol to the log-likelihood divided by
# the number of observations. A fit below it has estimates fixed to more digits than the
# course prints.
GRADIENT_THAT_MATTERS = 1e-5

# Messages statsmodels gives while it retries an optimiser that stopped short of ``gtol``;
# they mean nothing once the final gradient is below GRADIENT_THAT_MATTERS.
_RETRY_MESSAGES = (
    "Maximum Likelihood optimization failed",
    "Retrying MixedLM optimization",
    "MixedLM optimization failed",
    "Gradient optimization failed",
    "Keyword arguments have been passed to the optimizer",
)


def _newton_polish(model, packed: np.ndarray, steps: int = 4) -> np.ndarray | None:
    """Newton steps on the score of ``model`` from ``packed`` (statsmodels' profiled,
    packed parameters); None if they do not settle close to where they started."""
    start = np.asarray(packed, dtype=float)
    point = start.copy()
    for _ in range(steps):
        score = model.score(point, profile_fe=True)
        hessian = np.empty((point.size, point.size))
        for column in range(point.size):
            step = np.zeros(point.size)
            step[column] = 1e-5 * max(1.0, abs(point[column]))
            hessian[:, column] = (
                model.score(point + step, profile_fe=True)
                - model.score(point - step, profile_fe=True)
            ) / (2 * step[column])
        try:
            point = point - np.linalg.solve(hessian, score)
        except np.linalg.LinAlgError:
            return None
    # A boundary (singular) fit or a poorly conditioned Hessian can send Newton far away.
    if not np.all(np.isfinite(point)) or np.max(np.abs(point - start)) > 1e-3 * max(
        1.0, np.max(np.abs(start))
    ):
        return None
    return point


# The optimiser lists fit_tight tries, in order, until one reaches GRADIENT_THAT_MATTERS.
# From statsmodels' default start, BFGS sometimes abandons its line search (scipy's
# warnflag 2) at an interior point with a large gradient, several to about 20
# log-likelihood units short, and L-BFGS continuing from there stops as well; L-BFGS or
# Nelder-Mead from the default start reach the optimum.
TIGHT_FIT_METHODS = (["bfgs", "lbfgs"], ["lbfgs", "bfgs"], ["nm", "bfgs", "lbfgs"])


def _tight_attempt(model, reml: bool, methods, start_params):
    """One optimiser list, then Newton polish: (result, largest |gradient|, warnings)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(
            reml=reml, method=methods, gtol=TIGHT_FIT["gtol"], start_params=start_params
        )
        packed = result.params_object.get_packed(use_sqrt=model.use_sqrt, has_fe=False)
        polished = _newton_polish(model, packed)
        if polished is not None:
            # At score = 0 BFGS stops before its first step and statsmodels builds the result.
            result = model.fit(reml=reml, method="bfgs", gtol=1e-8, start_params=polished)
    gradient = float(np.max(np.abs(model.score(result.params_object, profile_fe=False))))
    return result, gradient, list(caught)


def fit_tight(model, reml: bool = True, start_params=None):
    """Fit a statsmodels ``MixedLM`` to its optimum, the same way on every CPU.

    ``model`` is an unfitted ``smf.mixedlm(...)``; ``reml`` chooses REML (True) or ML;
    ``start_params`` (optional) is passed to ``MixedLM.fit``. Returns the fit's
    ``MixedLMResults``.

    BFGS runs to a gradient tolerance of 1e-8 (statsmodels' default is 1e-5). How close
    it gets depends on the rounding of the CPU's BLAS kernels: with OpenBLAS's Haswell
    kernel it stops on the ML sleepstudy model with correlated slopes at a gradient of
    about 3e-6, and its estimates differ from other CPUs' in the seventh digit. So L-BFGS
    continues from wherever BFGS stopped (statsmodels' method list), and a few Newton
    steps on statsmodels' analytic score (its Hessian by central differences) then
    solve score = 0 to a gradient of about 1e-13: the estimates agree across CPU kernels
    to about twelve significant digits. The Newton result is kept only if it stays
    within 1e-3 of the optimiser's (not on a boundary fit, where the score need not be
    zero).

    The gradient checked is statsmodels' score of the whole log-likelihood in its own
    parameters (fixed effects and the Cholesky factor of the relative random-effects
    covariance). On data simulated from the sleepstudy fit, BFGS from the default start
    abandons its line search on about one data set in five, at an interior point several
    to about 20 log-likelihood units short, and L-BFGS continuing from there stops too.
    So if the gradient is above ``GRADIENT_THAT_MATTERS`` (1e-5), the fit is repeated
    with the other lists of ``TIGHT_FIT_METHODS`` (L-BFGS first, then Nelder-Mead first),
    and the first that reaches it is returned; if none does, the one with the highest
    log-likelihood is returned with a ``ConvergenceWarning``: the optimum was not reached,
    because it lies on the boundary (where the score need not be zero) or because every
    optimiser stopped short (as on a badly scaled covariate). Only the returned
    fit's warnings are passed on, without statsmodels' retry messages when the gradient
    was reached; any other warning (a singular covariance, a boundary estimate) is passed
    on unchanged.
    """
    import warnings

    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    attempts = []
    for methods in TIGHT_FIT_METHODS:
        attempts.append(_tight_attempt(model, reml, methods, start_params))
        if attempts[-1][1] <= GRADIENT_THAT_MATTERS:
            break
    reached = attempts[-1][1] <= GRADIENT_THAT_MATTERS
    result, gradient, caught = (
        attempts[-1]
        if reached
        else max(
            (attempt for attempt in attempts if np.isfinite(attempt[0].llf)),
            key=lambda attempt: attempt[0].llf,
            default=attempts[0],
        )
    )
    seen = set()
    for warning in caught:
        key = (str(warning.message), warning.category)
        if (reached and str(warning.message).startswith(_RETRY_MESSAGES)) or key in seen:
            continue
        seen.add(key)
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not reached:
        warnings.warn(
            f"The tight fit stopped at a gradient of {gradient:.2g}, above "
            f"{GRADIENT_THAT_MATTERS:g}: its estimates may be off in the printed digits.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def fit_sleepstudy_models(data: pd.DataFrame, reml: bool = True, names=None) -> dict:
    """Fit the course's sleepstudy models (``SLEEPSTUDY_MODELS``) by REML or ML.

    Returns a dict from model name to statsmodels' result. Each model is fitted with
    ``fit_tight`` (BFGS to a gradient tolerance of 1e-8 instead of statsmodels' default
    1e-5, with L-BFGS to finish where BFGS stops short), so that the estimates agree with
    lme4's to about seven significant digits instead of four or five, on any CPU.
    """
    import statsmodels.formula.api as smf

    names = list(SLEEPSTUDY_MODELS) if names is None else list(names)
    return {
        name: fit_tight(
            smf.mixedlm(
                "Reaction ~ Days", data, groups="Subject", **SLEEPSTUDY_MODELS[name]["statsmodels"]
            ),
            reml=reml,
        )
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

__all__ += ["satterthwaite", "lme4_vcov"]


class _RemlDeviance:
    """lme4's REML deviance of a statsmodels ``MixedLM`` as a function of (theta, sigma).

    The random effects of all groups are stacked into one vector b = sigma * Lambda(theta) u
    with u ~ N(0, I), as in lme4 (Bates et al. 2015, J Stat Softw 67(1), section 3). Lambda
    is block diagonal: for each group a lower-triangular Cholesky factor of ``cov_re /
    scale`` (its entries are the first thetas), and for each variance component one scalar
    times an identity block. The design's cross products are computed once, so each
    evaluation costs one Cholesky factorisation of a q x q matrix (q = number of random
    effects), whatever the number of rows.
    """

    def __init__(self, model):
        from scipy import sparse

        groups = model.group_labels
        k_re = model.k_re
        vc_names = list(model.exog_vc.names) if model.k_vc else []
        blocks = []
        lambda_rows, lambda_cols, theta_index = [], [], []
        offset = 0
        # Theta layout: the lower triangle of the k_re x k_re factor (row-major), then one
        # theta per variance component.
        tril_rows, tril_cols = np.tril_indices(k_re)
        for index, label in enumerate(groups):
            rows = len(model.endog_li[index])
            parts = [
                np.asarray(model.exog_re_li[index], dtype=float).reshape(rows, k_re)
                if k_re
                else np.zeros((rows, 0))
            ]
            lambda_rows.extend(offset + tril_rows)
            lambda_cols.extend(offset + tril_cols)
            theta_index.extend(range(len(tril_rows)))
            width = k_re
            for j, name in enumerate(vc_names):
                mat = np.asarray(model.exog_vc.mats[j][index], dtype=float)
                parts.append(mat)
                columns = offset + width + np.arange(mat.shape[1])
                lambda_rows.extend(columns)
                lambda_cols.extend(columns)
                theta_index.extend([len(tril_rows) + j] * mat.shape[1])
                width += mat.shape[1]
            blocks.append(np.hstack(parts))
            offset += width
        Z = (
            sparse.block_diag(blocks, format="csc")
            if offset
            else sparse.csc_matrix((sum(len(y) for y in model.endog_li), 0))
        )
        X = np.vstack([np.asarray(x, dtype=float) for x in model.exog_li])
        y = np.concatenate([np.asarray(v, dtype=float) for v in model.endog_li])
        # Position, in the model's data, of each stacked row (groups in group_labels order).
        self.order = np.concatenate([np.asarray(model.row_indices[g], dtype=int) for g in groups])
        self.Z, self.X = Z, X
        self.fe_names = list(model.exog_names[: model.k_fe])
        self.re_names = list(model.data.exog_re_names) if k_re else []
        self.n, self.p = X.shape
        self.q = offset
        self.n_theta = len(tril_rows) + len(vc_names)
        self.k_re = k_re
        self.vc_names = vc_names
        self.lambda_flat = np.asarray(lambda_rows, dtype=int) * offset + np.asarray(
            lambda_cols, dtype=int
        )
        self.theta_index = np.asarray(theta_index, dtype=int)
        ZtZ = (Z.T @ Z).toarray() if offset else np.zeros((0, 0))
        self.ZtZ = ZtZ
        self.ZtX = np.asarray(Z.T @ X)
        self.XtX = X.T @ X
        self._set_response(y)
        # Lower bounds for an optimiser: the diagonal of each Cholesky factor and each
        # variance component's theta are >= 0 (as in lme4); off-diagonals are free.
        diagonal = [r == c for r, c in zip(tril_rows, tril_cols)] + [True] * len(vc_names)
        self.theta_lower = np.where(diagonal, 0.0, -np.inf)

    def _set_response(self, y):
        self.y = y
        self.Zty = np.asarray(self.Z.T @ y)
        self.Xty = self.X.T @ y
        self.yty = float(y @ y)

    def with_response(self, y_data: np.ndarray) -> _RemlDeviance:
        """A copy for a new response, given in the order of the model's data rows."""
        import copy

        other = copy.copy(self)
        other._set_response(np.asarray(y_data, dtype=float)[self.order])
        return other

    def lambda_matrix(self, theta) -> np.ndarray:
        lam = np.zeros(self.q * self.q)
        lam[self.lambda_flat] = np.asarray(theta, dtype=float)[self.theta_index]
        return lam.reshape(self.q, self.q)

    def theta_from_result(self, result) -> np.ndarray:
        scale = float(result.scale)
        cov = np.asarray(result.cov_re, dtype=float).reshape(self.k_re, self.k_re) / scale
        factor = _semidefinite_cholesky(cov)
        theta = list(factor[np.tril_indices(self.k_re)])
        vcomp = np.atleast_1d(np.asarray(result.vcomp, dtype=float)) if self.vc_names else []
        theta.extend(np.sqrt(np.maximum(np.asarray(vcomp, dtype=float), 0.0) / scale))
        return np.asarray(theta, dtype=float)

    def _solve(self, theta):
        # Direct LAPACK calls: this runs thousands of times in a bootstrap, and scipy's
        # wrappers' checks would cost more than the arithmetic for the course's sizes.
        from scipy.linalg import lapack

        lam = self.lambda_matrix(theta)
        ZtZ_lam = self.ZtZ @ lam
        M = lam.T @ ZtZ_lam
        M[np.diag_indices_from(M)] += 1.0
        L, info = lapack.dpotrf(M, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError("Lambda' Z'Z Lambda + I is not positive definite.")
        rhs_re = lam.T @ np.column_stack([self.Zty, self.ZtX])
        solved, info = lapack.dtrtrs(L, rhs_re, lower=1)
        cu, RZX = solved[:, 0], solved[:, 1:]
        XVX = self.XtX - RZX.T @ RZX  # X' V^-1 X with V = I + Z Lambda Lambda' Z'
        rhs = self.Xty - RZX.T @ cu
        RX, info = lapack.dpotrf(XVX, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError("X' V^-1 X is not positive definite.")
        chol = (RX, True)
        beta, _ = lapack.dpotrs(RX, rhs, lower=1)
        pwrss = self.yty - cu @ cu - rhs @ beta
        log_det_L2 = 2.0 * np.sum(np.log(np.diag(L)))
        log_det_XVX = 2.0 * np.sum(np.log(np.diag(RX)))
        return XVX, chol, pwrss, log_det_L2, log_det_XVX, beta

    def deviance(self, varpar) -> float:
        """-2 x REML log-likelihood at (theta, sigma), not profiled (lmerTest's devfun_vp)."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        _, _, pwrss, log_det_L2, log_det_XVX, _ = self._solve(theta)
        sigma2 = sigma * sigma
        log_2pi_s2 = np.log(2.0 * np.pi * sigma2)
        return log_det_L2 + pwrss / sigma2 + self.n * log_2pi_s2 + log_det_XVX - self.p * log_2pi_s2

    def profiled_deviance(self, theta) -> float:
        """lme4's REML criterion: the deviance with sigma^2 = pwrss / (n - p)."""
        _, _, pwrss, _, _, _ = self._solve(np.asarray(theta, dtype=float))
        sigma = np.sqrt(pwrss / (self.n - self.p))
        return self.deviance(np.append(theta, sigma))

    def profiled(self, theta, reml: bool) -> float:
        """-2 x log-likelihood (REML or ML) with beta and sigma profiled out (lme4's)."""
        _, _, pwrss, log_det_L2, log_det_XVX, _ = self._solve(np.asarray(theta, dtype=float))
        if reml:
            dof = self.n - self.p
            return log_det_L2 + log_det_XVX + dof * (1.0 + np.log(2.0 * np.pi * pwrss / dof))
        return log_det_L2 + self.n * (1.0 + np.log(2.0 * np.pi * pwrss / self.n))

    def fit(self, theta_start, reml: bool) -> dict:
        """Minimise the profiled deviance over theta from ``theta_start``; returns theta,
        beta, sigma and the deviance.

        Unconstrained (L-BFGS-B without bounds): the deviance depends on theta only
        through Lambda Lambda', which a sign change of a variance component's theta or
        of a column of a Cholesky factor leaves alone. Bounds at 0 (lme4's) would trap a
        gradient method there, since the deviance is flat in such a theta at 0 whether
        or not a positive variance fits better; BOBYQA, lme4's optimiser, needs no
        gradient.
        """
        from scipy.optimize import minimize

        def value_and_gradient(theta):
            # Forward differences, written out: scipy's generic finite differences cost
            # more in overhead than the deviance itself for the course's models.
            value = self.profiled(theta, reml)
            gradient = np.empty_like(theta)
            for i in range(len(theta)):
                step = 1e-7 * max(1.0, abs(theta[i]))
                moved = theta.copy()
                moved[i] += step
                gradient[i] = (self.profiled(moved, reml) - value) / step
            return value, gradient

        best = minimize(
            value_and_gradient,
            np.asarray(theta_start, dtype=float),
            jac=True,
            method="L-BFGS-B",
            options={"ftol": 1e-12, "gtol": 1e-6, "maxiter": 500},
        )
        if not best.success:
            # L-BFGS-B's line search can stop at the optimum when the finite-difference
            # gradient is noise; Nelder-Mead (no gradient) then confirms or improves it.
            best = minimize(
                self.profiled,
                best.x,
                args=(reml,),
                method="Nelder-Mead",
                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000},
            )
        theta = best.x
        _, _, pwrss, _, _, beta = self._solve(theta)
        sigma = np.sqrt(pwrss / (self.n - self.p if reml else self.n))
        return {
            "theta": theta,
            "beta": beta,
            "sigma": sigma,
            "deviance": float(best.fun),
            "converged": bool(best.success),
        }

    def simulate(self, theta, sigma, beta, rng) -> np.ndarray:
        """One response drawn from the model, in the order of the model's data rows."""
        lam = self.lambda_matrix(theta)
        b = sigma * (lam @ rng.standard_normal(self.q))
        stacked = (
            self.X @ np.asarray(beta, dtype=float)
            + self.Z @ b
            + sigma * rng.standard_normal(self.n)
        )
        y = np.empty(self.n)
        y[self.order] = stacked
        return y

    def parameters(self, fitted: dict) -> pd.Series:
        """Fixed effects, random-effect SDs ("sd:<term>") and correlations
        ("cor:<term1>:<term2>") and the residual SD ("sd:Residual") of a fit."""
        sigma = fitted["sigma"]
        values = dict(zip(self.fe_names, fitted["beta"]))
        k = self.k_re
        factor = np.zeros((k, k))
        factor[np.tril_indices(k)] = fitted["theta"][: len(np.tril_indices(k)[0])]
        cov = sigma**2 * factor @ factor.T
        sd = np.sqrt(np.diag(cov))
        for i, name in enumerate(self.re_names):
            values[f"sd:{name}"] = sd[i]
        for i in range(k):
            for j in range(i):
                values[f"cor:{self.re_names[j]}:{self.re_names[i]}"] = (
                    cov[i, j] / (sd[i] * sd[j]) if sd[i] * sd[j] > 0 else np.nan
                )
        for j, name in enumerate(self.vc_names):
            values[f"sd:{name}"] = sigma * abs(fitted["theta"][len(np.tril_indices(k)[0]) + j])
        values["sd:Residual"] = sigma
        return pd.Series(values, dtype=float)

    def vcov_beta(self, varpar) -> np.ndarray:
        """sigma^2 (X' V^-1 X)^-1, lme4's ``vcov()``, shape (p, p)."""
        from scipy.linalg import cho_solve

        _, chol, _, _, _, _ = self._solve(np.asarray(varpar[:-1], dtype=float))
        return float(varpar[-1]) ** 2 * cho_solve(chol, np.eye(self.p))


def _semidefinite_cholesky(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor that tolerates a singular (boundary) covariance matrix:
    a zero pivot gives a zero column, as lme4's theta has at a singular fit."""
    k = matrix.shape[0]
    factor = np.zeros_like(matrix)
    for j in range(k):
        pivot = matrix[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot <= 1e-12 * max(1.0, abs(matrix[j, j])):
            continue
        factor[j, j] = np.sqrt(pivot)
        for i in range(j + 1, k):
            factor[i, j] = (matrix[i, j] - factor[i, :j] @ factor[j, :j]) / factor[j, j]
    return factor


def _steps(x: np.ndarray) -> np.ndarray:
    # First steps of 1e-2 relative, but at least 1e-3; Richardson extrapolation then
    # removes the truncation error. numDeriv's relative 1e-4 is far too small here: the
    # deviance is a sum over all rows and carries rounding error of about 1e-12 of its
    # size, which a second difference divides by the step squared (with 1e-3 the df of
    # the crossed rating study changed in the 5th digit from one process to the next).
    return 1e-2 * np.maximum(np.abs(x), 0.1)


def _richardson(estimates: list) -> np.ndarray:
    # Central differences at steps h, h/2, h/4, ... have errors in h^2, h^4, ...;
    # Richardson extrapolation removes them one order at a time (as numDeriv does).
    table = [np.asarray(e, dtype=float) for e in estimates]
    for m in range(1, len(table)):
        factor = 4.0**m
        table = [(factor * table[k + 1] - table[k]) / (factor - 1) for k in range(len(table) - 1)]
    return table[0]


def _numerical_jacobian(func, x: np.ndarray, r: int = 4) -> np.ndarray:
    """Derivatives of an array-valued func at x, shape (len(x),) + func(x).shape."""
    h0 = _steps(x)
    estimates = []
    for k in range(r):
        h = h0 / 2.0**k
        rows = []
        for i in range(len(x)):
            step = np.zeros_like(x)
            step[i] = h[i]
            rows.append((np.asarray(func(x + step)) - np.asarray(func(x - step))) / (2 * h[i]))
        estimates.append(np.stack(rows))
    return _richardson(estimates)


def _numerical_hessian(func, x: np.ndarray, r: int = 4) -> np.ndarray:
    """Hessian of a scalar func at x, shape (len(x), len(x))."""
    h0 = _steps(x)
    f0 = func(x)
    n = len(x)
    estimates = []
    for k in range(r):
        h = h0 / 2.0**k
        H = np.zeros((n, n))
        for i in range(n):
            ei = np.zeros(n)
            ei[i] = h[i]
            H[i, i] = (func(x + ei) - 2 * f0 + func(x - ei)) / h[i] ** 2
            for j in range(i):
                ej = np.zeros(n)
                ej[j] = h[j]
                H[i, j] = H[j, i] = (
                    func(x + ei + ej) - func(x + ei - ej) - func(x - ei + ej) + func(x - ei - ej)
                ) / (4 * h[i] * h[j])
        estimates.append(H)
    return _richardson(estimates)


def satterthwaite(result, contrast=None, level: float = 0.95) -> pd.DataFrame:
    """t-tests of fixed effects with Satterthwaite's degrees of freedom, as lmerTest computes them.

    Parameters
    ----------
    result : statsmodels ``MixedLMResults``
        A converged REML fit of ``smf.mixedlm`` with any of the course's structures:
        random intercepts, correlated slopes (``re_formula``), uncorrelated slopes or other
        variance components (``vc_formula``), and crossed factors written as variance
        components of one constant group.
    contrast : None, array-like of shape (p,) or (m, p), or pandas.DataFrame, optional
        Linear combinations c of the p fixed effects to test (c' beta = 0). ``None`` (the
        default) tests each fixed effect. A DataFrame's columns must be the names in
        ``result.fe_params`` and its index names the rows; otherwise rows are named
        ``"contrast 1"``, ``"contrast 2"``, ...
    level : float
        Confidence level of the t interval (0.95 gives the columns ``[0.025`` and ``0.975]``).

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect (indexed by ``result.fe_params``' names) or per contrast,
        with columns ``Estimate`` (c' beta), ``Std.Err.``, ``df``, ``t``, ``P>|t|``
        (two-sided) and the interval's lower and upper limits.

    Method
    ------
    Kuznetsova, Brockhoff and Christensen (2017), "lmerTest package: tests in linear mixed
    effects models", J Stat Softw 82(13), section 3.3, following Satterthwaite (1946). The
    variance parameters are lme4's: theta (the relative Cholesky factor of the random
    effects' covariance, one value per variance component) and the residual SD sigma. With
    f(theta, sigma) = c' Cov(beta) c and Cov(beta) = sigma^2 (X' V^-1 X)^-1,

        df = 2 f^2 / (g' A g),

    where g is the gradient of f and A = 2 H^-1 the asymptotic covariance of (theta,
    sigma), H being the Hessian of the REML deviance (-2 x restricted log-likelihood, not
    profiled) at the estimates. Gradient and Hessian are taken numerically with
    Richardson extrapolation, as lmerTest does with numDeriv; a Hessian that is not
    positive definite (a fit on the boundary) is inverted on its positive eigenvalues
    only, as in lmerTest, with a warning.

    The standard error is lme4's sqrt(c' sigma^2 (X' V^-1 X)^-1 c) at the REML estimates,
    the one ``lmerTest::summary`` prints. On unbalanced data it differs from statsmodels'
    ``bse_fe``, which inverts the Hessian of all parameters jointly (fixed effects and
    variance parameters), by construction; on balanced designs the two agree.

    Raises
    ------
    ValueError
        If ``result`` is a maximum-likelihood fit (the method and lmerTest's default need
        the REML criterion), if statsmodels reports that the fit did not converge, or if a
        contrast does not have p columns.
    """
    from scipy import stats

    model = result.model
    if not getattr(model, "reml", False):
        raise ValueError(
            "satterthwaite() needs a REML fit (fit(reml=True), statsmodels' default); "
            "this result was fitted by maximum likelihood."
        )
    if not getattr(result, "converged", True):
        raise ValueError(
            "The fit did not converge, so its variance estimates are not an optimum and the "
            "Satterthwaite degrees of freedom would be meaningless. Refit, e.g. with "
            'fit(method=["bfgs", "lbfgs"]), until statsmodels reports convergence.'
        )
    names = list(result.fe_params.index)
    p = len(names)
    if contrast is None:
        C = np.eye(p)
        row_names = names
    elif isinstance(contrast, pd.DataFrame):
        missing = [n for n in names if n not in contrast.columns]
        if missing or contrast.shape[1] != p:
            raise ValueError(
                f"The contrast's columns must be the fixed effects {names}; got {list(contrast.columns)}."
            )
        C = contrast[names].to_numpy(dtype=float)
        row_names = list(contrast.index)
    else:
        C = np.atleast_2d(np.asarray(contrast, dtype=float))
        if C.shape[1] != p:
            raise ValueError(
                f"A contrast needs {p} columns (one per fixed effect); got {C.shape[1]}."
            )
        row_names = [f"contrast {i + 1}" for i in range(C.shape[0])]

    deviance = _RemlDeviance(model)
    varpar = np.append(deviance.theta_from_result(result), np.sqrt(float(result.scale)))
    vcov = deviance.vcov_beta(varpar)  # lme4_vcov(result), with the pieces kept for the df
    jac = _numerical_jacobian(deviance.vcov_beta, varpar)  # (k, p, p)
    hessian = _numerical_hessian(deviance.deviance, varpar)
    values, vectors = np.linalg.eigh(hessian)
    tol = 1e-8
    if np.any(values <= tol):
        import warnings

        warnings.warn(
            f"The Hessian of the REML deviance has {np.sum(values <= tol)} eigenvalue(s) that "
            "are not positive (a fit on the boundary, or not at the optimum); they are left "
            "out of its inverse, as lmerTest does, and the degrees of freedom are uncertain.",
            RuntimeWarning,
            stacklevel=2,
        )
    positive = values > tol
    cov_varpar = 2.0 * (vectors[:, positive] / values[positive]) @ vectors[:, positive].T

    beta = result.fe_params.to_numpy(dtype=float)
    estimate = C @ beta
    variance = np.einsum("ij,jk,ik->i", C, vcov, C)
    gradient = np.einsum("ij,ajk,ik->ia", C, jac, C)  # (m, k)
    denominator = np.einsum("ia,ab,ib->i", gradient, cov_varpar, gradient)
    df = 2.0 * variance**2 / denominator
    se = np.sqrt(variance)
    t = estimate / se
    p_value = 2.0 * stats.t.sf(np.abs(t), df)
    half = stats.t.ppf(0.5 + level / 2.0, df) * se
    lower_name = f"[{(1 - level) / 2:g}"
    upper_name = f"{1 - (1 - level) / 2:g}]"
    return pd.DataFrame(
        {
            "Estimate": estimate,
            "Std.Err.": se,
            "df": df,
            "t": t,
            "P>|t|": p_value,
            lower_name: estimate - half,
            upper_name: estimate + half,
        },
        index=pd.Index(row_names),
    )


__all__ += ["BootstrapTest", "bootstrap_lrt", "BootstrapInterval", "bootstrap_interval"]


def lme4_vcov(result) -> pd.DataFrame:
    """lme4's ``vcov()`` of a statsmodels MixedLM fit: the covariance of the fixed effects,
    sigma^2 (X' V^-1 X)^-1, with V = Z (G / sigma^2) Z' + I at the fit's variance estimates.

    ``result``: a fitted ``MixedLMResults`` (REML or ML; any of the structures
    ``satterthwaite`` accepts). Returns a p x p DataFrame indexed by the fixed effects'
    names, in the response's units squared. Its square-rooted diagonal is lme4's standard
    errors (``summary(fit)``), which ``satterthwaite`` reports. statsmodels' ``bse_fe``
    inverts the Hessian of all parameters jointly instead, so it differs wherever the
    fixed effects and the variance parameters are not orthogonal (unbalanced data,
    between-subject predictors; appendix B). Raises ``TypeError`` if ``result`` is not a
    MixedLM result. Source: Bates, Maechler, Bolker and Walker (2015), J Stat Softw 67(1),
    section 3 (lme4's penalised least squares), computed here with the same theta as
    ``satterthwaite``.
    """
    result = _mixedlm_results(result)
    deviance = _RemlDeviance(result.model)
    varpar = np.append(deviance.theta_from_result(result), np.sqrt(float(result.scale)))
    names = list(result.fe_params.index)
    return pd.DataFrame(deviance.vcov_beta(varpar), index=names, columns=names)


def _check_fit(result, what: str) -> None:
    if not getattr(result, "converged", True):
        raise ValueError(f"The {what} did not converge; refit it before bootstrapping.")


@dataclass(frozen=True)
class BootstrapTest:
    """Result of :func:`bootstrap_lrt`.

    ``statistic``: observed likelihood-ratio statistic 2 (logLik_large - logLik_small).
    ``p_value``: (1 + number of simulated statistics >= observed) / (1 + n_boot)
    (Davison and Hinkley 1997, ch. 4). pbkrtest 0.5.2's ``PBmodcomp`` counts only the
    positive simulated statistics, in the numerator and the denominator; for a fixed
    effect almost all are positive and the two agree, but for a variance, where half or
    more are 0, PBmodcomp's p-value is larger. ``mc_se``: its Monte Carlo standard error,
    sqrt(p (1 - p) / n_boot), a binomial approximation that means something only when a
    fair number of simulated statistics reach the observed one; with none, p_value is the
    bound 1 / (1 + n_boot) of an exact Monte Carlo test, and mc_se merely restates that
    resolution (report "p <= 1/(1 + n_boot)" instead). ``null_statistics``: shape (n_boot,), the statistics of the
    simulated data sets. ``n_unconverged``: refits whose optimiser reported no convergence
    (kept in the statistics).
    """

    statistic: float
    p_value: float
    mc_se: float
    n_boot: int
    null_statistics: np.ndarray
    n_unconverged: int
    reml: bool


def bootstrap_lrt(small, large, n_boot: int, rng: np.random.Generator) -> BootstrapTest:
    """Parametric bootstrap likelihood-ratio test of a smaller mixed model against a larger one.

    Parameters
    ----------
    small, large : statsmodels ``MixedLMResults``
        Converged fits of two nested models to the same rows and response, both by ML
        (needed when the fixed effects differ) or both by REML (allowed only when the
        fixed-effect design is the same, i.e. for a test about the random effects).
    n_boot : int
        Number of simulated data sets (at least 1).
    rng : numpy.random.Generator
        Source of every random draw, e.g. ``np.random.default_rng(2024)``; the same seed
        gives the same result.

    Returns
    -------
    BootstrapTest
        The observed statistic, the bootstrap p-value with its Monte Carlo SE, and the
        simulated statistics.

    Method
    ------
    Simulate ``n_boot`` responses from the fitted smaller model (its fixed effects,
    random-effects covariance and residual variance), refit both models to each, and
    compare the observed statistic with the simulated ones (Davison and Hinkley 1997,
    ch. 4; Halekoh and Hojsgaard 2014, J Stat Softw 59(9), the method of pbkrtest's
    ``PBmodcomp``). No chi-square or boundary argument is needed: the simulated
    statistics are the reference distribution. The refits minimise lme4's profiled
    deviance over the relative covariance parameters theta (Bates et al. 2015, J Stat
    Softw 67(1)) with L-BFGS-B, from the estimates of the fits given; that is the
    likelihood statsmodels maximises (tests/test_bootstrap.py checks the log-likelihoods
    agree to 1e-6), at a few milliseconds per fit instead of statsmodels' tenths of a
    second. The observed statistic is computed the same way.

    Raises
    ------
    ValueError
        If a fit did not converge, the two models were fitted to different responses or
        by different criteria, REML fits have different fixed effects, or n_boot < 1.
    """
    _check_fit(small, "smaller model")
    _check_fit(large, "larger model")
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1.")
    reml = bool(small.model.reml)
    if reml != bool(large.model.reml):
        raise ValueError("Both models must be fitted by the same criterion (both ML or both REML).")
    small_dev = _RemlDeviance(small.model)
    large_dev = _RemlDeviance(large.model)
    y_small = np.empty(small_dev.n)
    y_small[small_dev.order] = small_dev.y
    y_large = np.empty(large_dev.n)
    y_large[large_dev.order] = large_dev.y
    if small_dev.n != large_dev.n or not np.array_equal(y_small, y_large):
        raise ValueError("The two models must be fitted to the same rows and response.")
    if reml and not (
        small_dev.X.shape == large_dev.X.shape
        and np.array_equal(
            small_dev.X[np.argsort(small_dev.order)], large_dev.X[np.argsort(large_dev.order)]
        )
    ):
        raise ValueError(
            "REML log-likelihoods of models with different fixed effects are not comparable; "
            "fit both models with reml=False."
        )
    theta_small = small_dev.theta_from_result(small)
    theta_large = large_dev.theta_from_result(large)
    observed = (
        small_dev.fit(theta_small, reml)["deviance"] - large_dev.fit(theta_large, reml)["deviance"]
    )
    sigma = float(np.sqrt(small.scale))
    beta = small.fe_params.to_numpy(dtype=float)
    statistics = np.empty(n_boot)
    unconverged = 0
    for b in range(n_boot):
        y = small_dev.simulate(theta_small, sigma, beta, rng)
        fit_small = small_dev.with_response(y).fit(theta_small, reml)
        fit_large = large_dev.with_response(y).fit(theta_large, reml)
        unconverged += (not fit_small["converged"]) + (not fit_large["converged"])
        statistics[b] = fit_small["deviance"] - fit_large["deviance"]
    # A statistic within rounding of the observed one counts as "as extreme".
    tolerance = 1e-8 * max(1.0, abs(observed))
    exceed = int(np.sum(statistics >= observed - tolerance))
    p_value = (1 + exceed) / (1 + n_boot)
    return BootstrapTest(
        statistic=float(observed),
        p_value=p_value,
        mc_se=float(np.sqrt(p_value * (1 - p_value) / n_boot)),
        n_boot=n_boot,
        null_statistics=statistics,
        n_unconverged=unconverged,
        reml=reml,
    )


@dataclass(frozen=True)
class BootstrapInterval:
    """Result of :func:`bootstrap_interval`.

    ``estimate``: the parameter in the fit given. ``lower``, ``upper``: the percentile
    interval. ``replicates``: shape (n_boot,), the parameter in each refit.
    ``mc_se_lower``, ``mc_se_upper``: Monte Carlo SEs of the two limits: the distance
    between the two order statistics that bracket each quantile with 95% probability
    (the count of replicates below a quantile is binomial), divided by 2 x 1.96.
    """

    parameter: str
    estimate: float
    lower: float
    upper: float
    level: float
    replicates: np.ndarray
    mc_se_lower: float
    mc_se_upper: float
    n_unconverged: int


def bootstrap_interval(
    result, parameter: str, n_boot: int, rng: np.random.Generator, level: float = 0.95
) -> BootstrapInterval:
    """Parametric bootstrap percentile interval for a fixed effect or a variance parameter.

    Parameters
    ----------
    result : statsmodels ``MixedLMResults``
        A converged fit (REML or ML; the refits use the same criterion).
    parameter : str
        A fixed effect named as in ``result.fe_params`` (e.g. ``"Days"``), a random-effect
        SD ``"sd:<term>"`` (terms named as in ``result.cov_re``'s index and the variance
        components' names, e.g. ``"sd:Days"``), a correlation ``"cor:<term1>:<term2>"``,
        or the residual SD ``"sd:Residual"``. SDs are in the response's units.
    n_boot : int
        Number of simulated data sets (at least 2).
    rng : numpy.random.Generator
        Source of every random draw.
    level : float
        Coverage of the interval, e.g. 0.95.

    Returns
    -------
    BootstrapInterval

    Method
    ------
    Simulate ``n_boot`` responses from the fitted model, refit each (lme4's profiled
    deviance minimised over theta, as in :func:`bootstrap_lrt`), and take the
    (1 - level)/2 and (1 + level)/2 quantiles of the parameter over the refits: the
    percentile interval of lme4's ``confint(fit, method = "boot")`` (Davison and Hinkley
    1997, ch. 5).

    Raises
    ------
    ValueError
        If the fit did not converge, ``parameter`` is unknown, or n_boot < 2.
    """
    _check_fit(result, "model")
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2.")
    reml = bool(result.model.reml)
    deviance = _RemlDeviance(result.model)
    theta = deviance.theta_from_result(result)
    sigma = float(np.sqrt(result.scale))
    beta = result.fe_params.to_numpy(dtype=float)
    fitted = {"theta": theta, "beta": beta, "sigma": sigma}
    names = deviance.parameters(fitted)
    if parameter not in names.index:
        raise ValueError(f"Unknown parameter {parameter!r}; known: {', '.join(names.index)}.")
    replicates = np.empty(n_boot)
    unconverged = 0
    for b in range(n_boot):
        y = deviance.simulate(theta, sigma, beta, rng)
        refit = deviance.with_response(y).fit(theta, reml)
        unconverged += not refit["converged"]
        replicates[b] = deviance.parameters(refit)[parameter]
    tail = (1 - level) / 2
    lower, upper = np.quantile(replicates, [tail, 1 - tail])
    ordered = np.sort(replicates)

    def limit_se(prob: float) -> float:
        # Order statistics covering the quantile with 95% probability (binomial counts).
        from scipy import stats

        spread = stats.norm.ppf(0.975) * np.sqrt(n_boot * prob * (1 - prob))
        lo = int(np.clip(np.floor(n_boot * prob - spread), 0, n_boot - 1))
        hi = int(np.clip(np.ceil(n_boot * prob + spread), 0, n_boot - 1))
        return float((ordered[hi] - ordered[lo]) / (2 * stats.norm.ppf(0.975)))

    return BootstrapInterval(
        parameter=parameter,
        estimate=float(names[parameter]),
        lower=float(lower),
        upper=float(upper),
        level=level,
        replicates=replicates,
        mc_se_lower=limit_se(tail),
        mc_se_upper=limit_se(1 - tail),
        n_unconverged=unconverged,
    )


# ---------------------------------------------------------------------------------------
# Checking a fitted model: convergence, boundary (singular) fits, influence.
# ---------------------------------------------------------------------------------------

__all__ += [
    "SingularFitCheck",
    "singular_fit_check",
    "lag1_autocorrelation",
    "simulate_conditional_residuals",
    "LeaveOneGroupOut",
    "leave_one_group_out",
]


def _mixedlm_results(result, what: str = "result"):
    """``result`` itself if it is a fitted MixedLM result (``MixedLMResults`` or statsmodels'
    wrapper around one, which keeps pandas labels); TypeError for anything else."""
    from statsmodels.regression.mixed_linear_model import MixedLMResults

    if not isinstance(getattr(result, "_results", result), MixedLMResults):
        raise TypeError(
            f"{what} must be a fitted statsmodels MixedLM result (MixedLMResults), "
            f"not {type(result).__name__}."
        )
    return result


def _random_effect_names(model, group_name: str) -> tuple[list[str], list[str]]:
    """lme4-style names of the random effects in ``cov_re`` and of the variance components."""
    names = []
    if model.k_re:
        exog_re = np.asarray(model.exog_re)
        for column, name in enumerate(model.data.exog_re_names):
            names.append("(Intercept)" if np.all(exog_re[:, column] == 1.0) else name)
    vc_names = list(model.exog_vc.names) if model.k_vc else []
    return names, vc_names


@dataclass(frozen=True)
class SingularFitCheck:
    """What ``singular_fit_check`` returns (all unit-free).

    ``theta``: lme4's theta, the entries of the relative Cholesky factor (Series; see
    ``singular_fit_check``). ``diagonal``: boolean Series, same index, True where an entry
    is on the factor's diagonal (lme4's lower bound 0). ``min_eigenvalue``: the smallest
    eigenvalue of the random effects' covariance divided by the residual variance.
    ``singular``: whether a diagonal entry of theta is below ``tol``, lme4's
    ``isSingular()``. ``tol``: the tolerance used. ``near_singular``: not ``singular``, but
    a diagonal entry of theta is below ``near_tol`` (the fit may have stopped short of a
    singular optimum; refit with Powell or Nelder-Mead, or compare with the reduced
    model). ``near_tol``: that tolerance.
    """

    theta: pd.Series
    diagonal: pd.Series
    min_eigenvalue: float
    singular: bool
    tol: float
    near_singular: bool = False
    near_tol: float = 1e-2


def singular_fit_check(
    result, tol: float = 1e-4, group_name: str = "Subject", near_tol: float = 1e-2
) -> SingularFitCheck:
    """Is a statsmodels MixedLM fit singular? A unit-free check, as lme4's ``isSingular()``.

    ``result``: a fitted ``MixedLMResults`` (from ``smf.mixedlm(...).fit()`` or
    ``fit_tight``), with k random effects in ``cov_re`` (shape (k, k), k >= 0) and m
    variance components from ``vc_formula`` (``vcomp``, shape (m,)), k + m >= 1. ``tol``:
    a positive float, lme4's default 1e-4. ``group_name`` only names the entries.
    ``near_tol``: a positive float (default 1e-2), the companion rule below.

    The random effects' covariance, ``cov_re`` block-diagonal with the variance
    components, is divided by the residual variance ``scale``. Its lower Cholesky factor
    is lme4's relative covariance factor Lambda, and its entries are lme4's parameters
    theta (Bates et al. 2015, J Stat Softw 67(1), section 2.2): for each block the lower
    triangle column by column (for ``re_formula="Days"``: (Intercept), the (Days,
    (Intercept)) entry, Days), then one entry sqrt(variance / scale) per variance
    component, in lme4's order for ``(Days | Subject)`` and ``(Days || Subject)``. A factor
    computed from a singular matrix gets a zero column where the pivot vanishes (lme4's
    entries below a zero diagonal entry are not identified and may be non-zero, so
    entry-wise agreement there is not guaranteed; ``singular`` still agrees). Dividing by the residual variance makes theta unit-free: rescaling
    the response (ms to seconds) multiplies every variance and covariance by the same
    factor and leaves theta unchanged. (A rescaled *covariate* still changes theta, in
    lme4 too.) statsmodels' own boundary warning instead compares each variance with
    the absolute number 0.01, in squared units of the response.

    As lme4's ``isSingular(fit, tol = 1e-4)``, the fit is singular when a diagonal entry of
    theta (lme4's theta with lower bound 0) is below ``tol``: a variance of (nearly) zero
    or a correlation of (nearly) +-1 gives one. ``min_eigenvalue`` is the smallest
    eigenvalue of the relative covariance: (nearly) zero for a singular fit, but unlike
    theta it is not compared with a tolerance by lme4.

    The verdict is only as good as the fit. lme4's tol = 1e-4 assumes a bounded optimiser
    that lands on the boundary; statsmodels optimises an unbounded parameterisation, and
    its gradient methods (BFGS, L-BFGS, so also ``fit_tight``) typically stop with a
    diagonal theta of about 1e-3 to 1e-2 when the optimum is singular, which this rule
    calls not singular (e.g. sleepstudy with each subject's mean moved to the grand mean,
    ``(Days || Subject)``: lme4's theta for the intercept is 0, ``fit_tight``'s about
    1e-3). Hence the companion rule: ``near_singular`` is True when the fit is not
    singular but a diagonal theta is below ``near_tol``; treat it as a prompt to refit with
    ``method="powell"`` or ``"nm"`` (which reach the boundary) or to fit the reduced model
    and compare log-likelihoods. A ``min_eigenvalue`` near 0 is the same prompt.

    Returns a ``SingularFitCheck``. Raises ``TypeError`` if ``result`` is not a
    ``MixedLMResults``; ``ValueError`` if ``tol`` is not a positive finite number or
    ``near_tol`` is not, if the
    fit has no random effects, if ``cov_re``, ``vcomp`` or ``scale`` hold a NaN or an
    infinite value (a failed fit), if ``scale`` is not positive, or if the relative
    covariance is not positive semidefinite (an eigenvalue below -1e-8 times the largest).
    """
    result = _mixedlm_results(result)
    if isinstance(tol, bool) or not (
        isinstance(tol, (int, float)) and np.isfinite(tol) and tol > 0
    ):
        raise ValueError(f"tol must be a positive finite number, not {tol!r}.")
    if isinstance(near_tol, bool) or not (
        isinstance(near_tol, (int, float)) and np.isfinite(near_tol) and near_tol > 0
    ):
        raise ValueError(f"near_tol must be a positive finite number, not {near_tol!r}.")
    model = result.model
    cov = np.asarray(result.cov_re, dtype=float).reshape(model.k_re, model.k_re)
    vcomp = np.asarray(result.vcomp, dtype=float).reshape(-1) if model.k_vc else np.zeros(0)
    scale = float(result.scale)
    if cov.size + vcomp.size == 0:
        raise ValueError("The fit has no random effects: there is nothing to check.")
    if not (np.all(np.isfinite(cov)) and np.all(np.isfinite(vcomp)) and np.isfinite(scale)):
        raise ValueError(
            "The fit's cov_re, vcomp or scale holds NaN or infinite values: the fit failed."
        )
    if scale <= 0:
        raise ValueError(f"The residual variance (scale) must be positive, not {scale}.")
    relative = np.zeros((cov.shape[0] + vcomp.size,) * 2)
    relative[: cov.shape[0], : cov.shape[0]] = cov / scale
    relative[cov.shape[0] :, cov.shape[0] :] = np.diag(vcomp / scale)
    eigenvalues = np.linalg.eigvalsh(relative)
    if eigenvalues[0] < -1e-8 * max(1.0, eigenvalues[-1]):
        raise ValueError(
            f"The relative covariance is not positive semidefinite (smallest eigenvalue "
            f"{eigenvalues[0]:.3g})."
        )
    factor = _semidefinite_cholesky(cov / scale) if cov.size else np.zeros((0, 0))
    re_names, vc_names = _random_effect_names(model, group_name)
    labels, values, diagonal = [], [], []
    for column in range(factor.shape[0]):
        for row in range(column, factor.shape[0]):
            name = re_names[row] if row == column else f"{re_names[row]}.{re_names[column]}"
            labels.append(f"{group_name}.{name}")
            values.append(factor[row, column])
            diagonal.append(row == column)
    for name, variance in zip(vc_names, vcomp):
        labels.append(f"{group_name}.{name}")
        # A variance component a hair below 0 (statsmodels does not bound it) counts as 0.
        values.append(np.sqrt(max(variance, 0.0) / scale))
        diagonal.append(True)
    theta = pd.Series(values, index=labels, name="theta", dtype=float)
    diagonal = pd.Series(diagonal, index=labels, name="diagonal")
    return SingularFitCheck(
        theta=theta,
        diagonal=diagonal,
        min_eigenvalue=float(max(eigenvalues[0], 0.0)),
        singular=bool(np.any(theta[diagonal] < tol)),
        tol=float(tol),
        near_singular=bool(
            np.any(theta[diagonal] < near_tol) and not np.any(theta[diagonal] < tol)
        ),
        near_tol=float(near_tol),
    )


def lag1_autocorrelation(residuals, groups, time):
    """Pooled lag-1 autocorrelation of residuals within groups (e.g. subjects over days).

    ``residuals``: array-like of shape (n,), in the response's units (e.g. ms), or of
    shape (n_sim, n) for many sets of residuals at once (e.g. from
    ``simulate_conditional_residuals``). ``groups``, ``time``: array-likes of length n
    (group labels; integer-valued times, e.g. Days). Returns r1 = the sum of e[t] *
    e[t - 1] over all pairs of the same group whose times differ by exactly 1, divided by
    the sum of all e^2: the usual estimator of the autocorrelation function at lag 1 (Box
    and Jenkins), pooled over groups; unit-free, between -1 and 1. A float for residuals
    of shape (n,), an array of shape (n_sim,) otherwise. No mean is subtracted:
    residuals of a model with an intercept per group already have a mean near 0 in each
    group. Independent errors give about 0, but the *conditional residuals of a fitted
    mixed model* are negatively correlated by construction; ``simulate_conditional_residuals``
    gives the value to expect under the model.

    Raises ``ValueError`` if the lengths differ, a value is missing or not finite, the
    times are not integers, a (group, time) pair repeats, no pair is one time step apart,
    or all residuals of a set are 0.
    """
    e = np.asarray(residuals, dtype=float)
    frame = pd.DataFrame({"g": np.asarray(groups), "t": np.asarray(time)})
    if e.ndim not in (1, 2) or e.shape[-1] != len(frame) or len(np.asarray(time)) != len(frame):
        raise ValueError(
            f"residuals (shape {e.shape}), groups ({len(frame)}) and time "
            f"({len(np.asarray(time))}) must have the same length n."
        )
    if frame.isna().any().any() or not np.all(np.isfinite(e)):
        raise ValueError("residuals, groups and time must not hold missing or infinite values.")
    times = frame["t"].to_numpy(float)
    if not np.all(np.isfinite(times)) or not np.all(times == np.round(times)):
        raise ValueError("time must hold integer values (e.g. days).")
    if frame.duplicated(["g", "t"]).any():
        raise ValueError("Each (group, time) pair must occur once.")
    frame["row"] = np.arange(len(frame))
    pairs = frame.merge(frame.assign(t=frame["t"] - 1), on=["g", "t"], suffixes=("", "_before"))
    if pairs.empty:
        raise ValueError("No two observations of a group are one time step apart.")
    denominator = np.sum(e**2, axis=-1)
    if np.any(denominator == 0):
        raise ValueError("All residuals (of a set) are 0.")
    later, earlier = pairs["row"].to_numpy(), pairs["row_before"].to_numpy()
    r1 = np.sum(e[..., later] * e[..., earlier], axis=-1) / denominator
    return float(r1) if e.ndim == 1 else r1


def _marginal_covariance(result) -> np.ndarray:
    """V = Z G Z' + sigma^2 I of a MixedLM fit, shape (n, n), rows in the model's order."""
    model = result.model
    n = len(model.endog)
    cov_re = np.asarray(result.cov_re, dtype=float).reshape(model.k_re, model.k_re)
    vcomp = np.asarray(result.vcomp, dtype=float).reshape(-1) if model.k_vc else np.zeros(0)
    V = float(result.scale) * np.eye(n)
    for i, label in enumerate(model.group_labels):
        rows = model.row_indices[label]
        block = np.zeros((len(rows), len(rows)))
        if model.k_re:
            z = np.asarray(model.exog_re_li[i], dtype=float)
            block += z @ cov_re @ z.T
        for k, variance in enumerate(vcomp):
            z = np.asarray(model.exog_vc.mats[k][i], dtype=float)
            block += variance * (z @ z.T)
        V[np.ix_(rows, rows)] += block
    return V


def simulate_conditional_residuals(
    result, n_sim: int, rng: np.random.Generator, error_variance=None
) -> np.ndarray:
    """Conditional residuals of data simulated from a fitted MixedLM, the variance
    parameters held at their estimates (a parametric bootstrap without refitting them).

    ``result``: a fitted ``MixedLMResults`` (n rows). ``n_sim``: a positive int. ``rng``: a
    ``numpy.random.Generator``. Returns an array of shape (n_sim, n), in the response's
    units, rows of the data in the model's order (as ``result.resid``). ``error_variance``:
    None (default: every row's error has the fit's variance ``scale``) or an array-like of
    shape (n,) of positive error variances (squared response units, the model's row order)
    to simulate unequal residual spread, e.g. each subject's observed residual variance;
    the residual map below still uses the fit's common sigma^2, as the fitted model does.

    Each replicate y* = X beta-hat + Z b* + e*, with b* ~ N(0, G-hat) and e* ~ N(0,
    sigma-hat^2 I), is refitted by GLS for beta and BLUPs for b at the estimated G and
    sigma^2, so its conditional residuals are y* - X beta* - Z b* = sigma^2 P y*, with P =
    V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1 and V = Z G Z' + sigma^2 I (Henderson's
    mixed-model equations; e.g. Searle, Casella and McCulloch 1992, ch. 7). Their
    covariance, sigma^4 P, is not diagonal: conditional residuals are correlated even when
    the errors are independent. Re-estimating G and sigma^2 for each replicate (a full
    parametric bootstrap) changes this little for a well-determined fit; tests/
    test_model_checks.py checks that against refits. Applied to the data, the same map
    gives ``result.resid``.

    Raises ``TypeError`` if ``result`` is not a ``MixedLMResults``; ``ValueError`` if
    ``n_sim`` is not a positive integer, the fit's variances are not finite, or
    ``error_variance`` does not hold n positive finite values.
    """
    result = _mixedlm_results(result)
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise ValueError(f"n_sim must be a positive integer, not {n_sim!r}.")
    model = result.model
    V = _marginal_covariance(result)
    if not np.all(np.isfinite(V)):
        raise ValueError("The fit's variances hold NaN or infinite values: the fit failed.")
    X = np.asarray(model.exog, dtype=float)
    V_inv = np.linalg.inv(V)
    VX = V_inv @ X
    P = V_inv - VX @ np.linalg.solve(X.T @ VX, VX.T)
    if error_variance is None:
        L = np.linalg.cholesky(V)
    else:
        w = np.asarray(error_variance, dtype=float).reshape(-1)
        if w.shape != (V.shape[0],) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(
                f"error_variance must hold {V.shape[0]} positive finite values (one per row)."
            )
        # Z G Z' from the fit, plus the given error variances on the diagonal.
        L = np.linalg.cholesky(V - float(result.scale) * np.eye(len(w)) + np.diag(w))
    mean = X @ np.asarray(result.fe_params, dtype=float)
    y = mean + rng.standard_normal((n_sim, len(mean))) @ L.T
    return float(result.scale) * y @ P.T


@dataclass(frozen=True)
class LeaveOneGroupOut:
    """What ``leave_one_group_out`` returns; every frame has one row per left-out group.

    ``estimates``, ``std_errors``: the fixed effects and their standard errors (``bse_fe``)
    without the group (columns: the fixed effects). ``change``: estimate without the
    group minus the full fit's. ``dfbetas``: (full estimate - estimate without the group)
    / standard error without the group, Belsley et al.'s DFBETAS for a whole group as in
    R's influence.ME (positive: the group pulls the estimate up). ``cooks_distance``
    (Series): the change in all p fixed effects, d' V^-1 d / p with V the full fit's
    covariance of the fixed effects (Cook's 1977 form; influence.ME's
    ``cooks.distance.estex`` uses the covariance of the fit without the group instead,
    which usually gives larger values). ``converged`` (Series of bool).
    """

    estimates: pd.DataFrame
    std_errors: pd.DataFrame
    change: pd.DataFrame
    dfbetas: pd.DataFrame
    cooks_distance: pd.Series
    converged: pd.Series


def leave_one_group_out(full, refit, data: pd.DataFrame, group: str) -> LeaveOneGroupOut:
    """Refit a mixed model without each group in turn: how much does each group move the
    fixed effects? (Case-deletion influence for whole groups: Belsley, Kuh and Welsch
    1980; for mixed models, Nieuwenhuis, te Grotenhuis and Pelzer 2012, R's influence.ME.)

    ``full``: the ``MixedLMResults`` fitted to all of ``data``. ``refit``: a function that
    takes a DataFrame (``data`` without one group's rows) and returns the same model's
    fitted ``MixedLMResults`` (e.g. ``lambda d: course.fit_tight(smf.mixedlm(..., d,
    ...))``). ``data``: the DataFrame ``full`` was fitted to. ``group``: the name of its
    grouping column. Refits once per group, in the order of the sorted group labels.
    Returns a ``LeaveOneGroupOut`` (estimates in the response's units; dfbetas and
    Cook's distance unit-free).

    The standard errors are statsmodels' ``bse_fe``; on balanced data such as sleepstudy
    they equal lme4's (on unbalanced data they differ by construction, see appendix B).
    Raises ``TypeError`` if ``full`` or a refit is not a ``MixedLMResults``; ``KeyError``
    if ``group`` is not a column of ``data``; ``ValueError`` if ``data`` has fewer than
    three groups or a refit's fixed effects are not those of ``full``.
    """
    full = _mixedlm_results(full, "full")
    if group not in data.columns:
        raise KeyError(f"{group!r} is not a column of data.")
    labels = sorted(data[group].unique())
    if len(labels) < 3:
        raise ValueError("Leaving one group out needs at least three groups.")
    names = list(full.model.exog_names[: full.model.k_fe])
    beta = np.asarray(full.fe_params, dtype=float)
    cov_fe = np.asarray(full.cov_params().loc[names, names], dtype=float)
    estimates, std_errors, converged = {}, {}, {}
    for label in labels:
        fit = _mixedlm_results(refit(data[data[group] != label]), "refit(...)")
        fit_names = list(fit.model.exog_names[: fit.model.k_fe])
        if fit_names != names:
            raise ValueError(
                f"The refit without {label!r} has fixed effects {fit_names}, not {names}."
            )
        estimates[label] = np.asarray(fit.fe_params, dtype=float)
        std_errors[label] = np.asarray(fit.bse_fe, dtype=float)
        converged[label] = bool(fit.converged)
    estimates = pd.DataFrame.from_dict(estimates, orient="index", columns=names)
    std_errors = pd.DataFrame.from_dict(std_errors, orient="index", columns=names)
    change = estimates - beta
    dfbetas = -change / std_errors
    d = change.to_numpy()
    cooks = np.einsum("ij,ij->i", d, np.linalg.solve(cov_fe, d.T).T) / len(names)
    for frame in (estimates, std_errors, change, dfbetas):
        frame.index.name = group
    return LeaveOneGroupOut(
        estimates=estimates,
        std_errors=std_errors,
        change=change,
        dfbetas=dfbetas,
        cooks_distance=pd.Series(cooks, index=estimates.index, name="cooks_distance"),
        converged=pd.Series(converged, name="converged").rename_axis(group),
    )


# ---------------------------------------------------------------------------------------
# Tools the chapters share: model comparison, profiles, power.
# ---------------------------------------------------------------------------------------

__all__ += [
    "TIGHT_FIT",
    "sd_correlation",
    "fit_recording_warnings",
    "fit_quietly",
    "random_effects_pca",
    "profile_sd",
    "interval_from_profile",
    "profile_fixed_effect_interval",
    "subject_slopes",
    "two_stage_test",
    "exact_power",
    "qq_plot",
    "lme4_varcorr",
]

# The optimiser setting behind the course's tight fit. statsmodels' default (BFGS to a
# gradient tolerance of 1e-5) stops four or five significant digits short of the optimum;
# with this tolerance the sleepstudy fits agree with lme4's to about seven digits
# (tests/test_lme4_parity.py). Fit with ``fit_tight(model, reml=...)``, which starts with this
# setting and finishes the same way on every CPU; ``model.fit(**TIGHT_FIT)`` alone is kept
# for the cells that show what a plain optimiser run reports.
TIGHT_FIT = {"method": "bfgs", "gtol": 1e-8}


def sd_correlation(cov) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations and correlation matrix of a covariance matrix.

    ``cov``: a square covariance matrix, shape (k, k), such as a fit's ``cov_re`` (a
    DataFrame or an array; its units squared, e.g. ms²). Returns ``(sds, correlation)``:
    the SDs, shape (k,), in the units of the random effects (e.g. ms and ms per day), and
    the correlations, shape (k, k), unit-free, with ones on the diagonal. For a random
    intercept and slope the correlation of the two is ``correlation[0, 1]``. A zero
    variance gives NaN correlations for that row and column (no warning is raised).
    Raises ``ValueError`` if ``cov`` is not square.
    """
    cov = np.asarray(cov, dtype=float)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"A covariance matrix must be square, not of shape {cov.shape}.")
    sds = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = cov / np.outer(sds, sds)
    return sds, correlation


def fit_recording_warnings(model, **fit_options):
    """Fit a statsmodels model and return ``(result, messages)``.

    ``model``: an unfitted model (e.g. ``smf.mixedlm(...)``). With no options other than
    ``reml`` and ``start_params``, the fit is the course's tight fit, ``fit_tight`` (the
    same estimates on every CPU); any other option (e.g. ``method="powell"``) calls the
    model's own ``fit`` with all the options instead. ``messages`` is a list of strings
    ``"Category: message"``, one per warning raised during the fit, in order (empty when the
    fit is clean). Every warning is recorded, even one already shown earlier in the session.
    Errors raised by the fit propagate.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if set(fit_options) <= {"reml", "start_params"}:
            result = fit_tight(model, **fit_options)
        else:
            result = model.fit(**fit_options)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def fit_quietly(model, **fit_options):
    """Fit a model that should raise no warning (as ``fit_recording_warnings``) and return the
    result. Raises ``RuntimeError`` listing the warnings if the fit raised any."""
    result, messages = fit_recording_warnings(model, **fit_options)
    if messages:
        raise RuntimeError(f"Unexpected warnings: {messages}")
    return result


def random_effects_pca(result) -> pd.DataFrame:
    """Principal components of the random effects' covariance, as lme4's ``rePCA()``.

    ``result``: a fitted MixedLM result with k random effects in ``cov_re`` (k >= 1).
    Returns a DataFrame with k rows (``component 1`` ... ``component k``, largest first) and
    columns ``SD`` (the component's SD relative to the residual SD, unit-free; lme4's
    ``sdev``) and ``proportion`` (its share of the relative random-effects variance). A
    component with an SD near zero means the covariance is singular (Bates et al., 2015,
    "Parsimonious mixed models", arXiv:1506.04967). Variance components (``vc_formula``)
    are not included.
    """
    relative_cov = np.asarray(result.cov_re, dtype=float) / result.scale
    variances = np.sort(np.linalg.eigvalsh(relative_cov))[::-1]
    return pd.DataFrame(
        {"SD": np.sqrt(variances), "proportion": variances / variances.sum()},
        index=[f"component {i + 1}" for i in range(len(variances))],
    )


def profile_sd(result, index: int, points: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Profile one random-effect SD with statsmodels' ``profile_re``.

    ``result``: a MixedLM result (fitted by ML for a likelihood interval); ``index``: the
    position of the variance in ``cov_re``'s diagonal; ``points``: grid points on each side
    of the estimate (the grid runs from 0.25 to 2.75 times the variance). Returns
    ``(sd, zeta)``, arrays of shape (2 * points,): the SDs (units of the random effect) and
    lme4's zeta, the signed square root of twice the drop in log-likelihood, which is close
    to linear in the SD. statsmodels holds the variance fixed relative to the residual
    variance, so this profile is a little narrower than lme4's (chapter 7). Raises
    ``RuntimeError`` if the refits warn. Method: Bates et al. (2015), J. Stat. Softw.
    67(1), section 5.1.
    """
    import warnings

    variance = np.asarray(result.cov_re)[index, index]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profile = result.profile_re(
            index,
            "re",
            num_low=points,
            dist_low=0.75 * variance,
            num_high=points,
            dist_high=1.75 * variance,
        )
    if caught:
        raise RuntimeError([str(w.message) for w in caught])
    sd = np.sqrt(profile[:, 0])
    deviance = np.maximum(2 * (result.llf - profile[:, 1]), 0)
    zeta = np.sign(sd - np.sqrt(variance)) * np.sqrt(deviance)
    return sd, zeta


def interval_from_profile(sd, zeta, level: float = 0.95) -> np.ndarray:
    """Profile-likelihood interval: where ``zeta`` (increasing, shape (n,)) crosses minus and
    plus the normal quantile of ``level`` (1.96 for 95%), by linear interpolation in ``sd``
    (shape (n,)). Returns ``array([lower, upper])`` in the units of ``sd``. Raises
    ``ValueError`` if the profile does not reach both limits."""
    limit = np.sqrt(_chi2_quantile(level))
    zeta = np.asarray(zeta, dtype=float)
    if zeta[0] > -limit or zeta[-1] < limit:
        raise ValueError("The profile does not reach the interval's limits: widen its range.")
    return np.interp([-limit, limit], zeta, np.asarray(sd, dtype=float))


def _chi2_quantile(level: float) -> float:
    """The ``level`` quantile of a chi-square with 1 df (3.84 for 0.95)."""
    from scipy import stats

    return float(stats.chi2.ppf(level, df=1))


def profile_fixed_effect_interval(result, term: str, level: float = 0.95, width: float = 4.0):
    """Profile-likelihood interval for one fixed effect of a MixedLM fitted by ML.

    Fixing the coefficient of ``term`` at b is the same as fitting ``y - b * x_term`` without
    that column and with the same random effects, so the profile needs only ML refits (each
    with ``fit_tight``, started from the fit's relative covariance so that it stays near its
    optimum). The ends are where twice the drop in log-likelihood equals the chi-square(1)
    quantile of ``level`` (3.84 for 95%), found by Brent's method within ``width`` standard
    errors of the estimate. ``result``: a MixedLM result fitted with ``reml=False``;
    ``term``: a fixed-effect name (e.g. ``"Days"``). Returns ``(lower, upper)`` in the units
    of the coefficient. Raises ``ValueError`` for a REML fit or a model with variance
    components, and if an end is not within ``width`` SEs; ``RuntimeError`` if a refit does not
    converge. Method: the profile of a fixed
    effect in lme4's ``confint(method = "profile")`` (Bates et al., 2015, section 5.1).
    """
    from scipy import optimize
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    model = result.model
    if model.reml:
        raise ValueError("A likelihood profile needs a fit by ML (reml=False).")
    if model.k_vc:
        raise ValueError("Models with variance components (vc_formula) are not supported.")
    column = model.exog_names.index(term)
    others = [i for i in range(model.exog.shape[1]) if i != column]
    exog_rest, x_term = model.exog[:, others], model.exog[:, column]
    cutoff = _chi2_quantile(level)
    start = MixedLMParams.from_components(
        np.zeros(len(others)), cov_re=np.asarray(result.cov_re_unscaled)
    )

    def excess_deviance(value):
        refit = MixedLM(
            model.endog - value * x_term, exog_rest, groups=model.groups, exog_re=model.exog_re
        )
        refit = fit_tight(refit, reml=False, start_params=start)
        if not refit.converged:
            raise RuntimeError(f"The refit with {term} fixed at {value} did not converge.")
        return 2 * (result.llf - refit.llf) - cutoff

    estimate, se = result.fe_params[term], result.bse_fe[term]
    lower = optimize.brentq(excess_deviance, estimate - width * se, estimate, xtol=1e-8)
    upper = optimize.brentq(excess_deviance, estimate, estimate + width * se, xtol=1e-8)
    return lower, upper


def subject_slopes(days, reaction) -> np.ndarray:
    """Each subject's least-squares slope over the days.

    ``days``: shape (d,), the measurement times (e.g. days 0-9); ``reaction``: shape
    (..., subjects, d), one row per subject. Returns shape (..., subjects), in units of
    ``reaction`` per unit of ``days`` (e.g. ms per day)."""
    days = np.asarray(days, dtype=float)
    centred_days = days - days.mean()
    return np.asarray(reaction) @ centred_days / (centred_days @ centred_days)


def two_stage_test(days, reaction):
    """The two-stage (summary-statistic) test of the mean slope, per study.

    Stage one fits a least-squares line per subject; stage two is a one-sample t test of
    the slopes on subjects - 1 df. With every subject measured on the same days and a
    random intercept and slope, this is the mixed model's exact small-sample test (the
    estimate is REML's, and the t test equals lmerTest's Satterthwaite test at an interior
    optimum; tests/test_power_two_stage.py checks both). Reference: Holmes & Friston
    (1998), "Generalisability, random effects and population inference", NeuroImage 7, S754.

    ``days``: shape (d,); ``reaction``: shape (..., subjects, d) (many studies at once).
    Returns ``(estimate, standard_error, p_value)``, each of shape (...): the mean slope and
    its SE in units of ``reaction`` per unit of ``days``, and the two-sided p-value.
    """
    from scipy import stats

    slopes = subject_slopes(days, reaction)
    n_subjects = slopes.shape[-1]
    estimate = slopes.mean(axis=-1)
    standard_error = slopes.std(axis=-1, ddof=1) / np.sqrt(n_subjects)
    p_value = 2 * stats.t.sf(np.abs(estimate / standard_error), df=n_subjects - 1)
    return estimate, standard_error, p_value


def exact_power(
    n_subjects: int,
    n_days: int,
    slope: float,
    slope_sd: float,
    residual_sd: float,
    alpha: float = 0.05,
) -> float:
    """Power of ``two_stage_test`` for a design measured on days 0 to ``n_days - 1``.

    A subject's least-squares slope is normal with the population ``slope`` as mean and
    variance ``slope_sd**2 + residual_sd**2 / sum((days - mean(days))**2)``, so the t
    statistic has a non-central t distribution with ``n_subjects - 1`` df. ``slope`` and
    ``slope_sd`` (the SD of subjects' slopes) are in units per day (e.g. ms per day),
    ``residual_sd`` in the outcome's units (ms). Returns the probability of a two-sided
    rejection at level ``alpha``. Needs ``n_subjects >= 2`` and ``n_days >= 2``.
    """
    from scipy import stats

    days = np.arange(n_days)
    slope_spread = np.sqrt(slope_sd**2 + residual_sd**2 / ((days - days.mean()) ** 2).sum())
    noncentrality = slope * np.sqrt(n_subjects) / slope_spread
    df = n_subjects - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    return float(
        stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    )


def qq_plot(values, ax, *, ylabel: str, **marker_options):
    """Normal QQ plot in the course's style, drawn on ``ax`` (a matplotlib Axes).

    ``values``: shape (n,), e.g. residuals or predicted random effects; ``ylabel``: what
    they are, with units (e.g. ``"Residual (ms)"``). Points are drawn in ``PALETTE[0]``
    against standard normal quantiles (x axis ``Normal quantile``), with the reference line
    of statsmodels' ``qqplot(line="s")`` (intercept the values' mean, slope their SD with
    divisor n) in
    ``PALETTE[1]``. ``marker_options`` (``markersize``, ``alpha``, ...) go to the points.
    Returns ``ax``. Method: statsmodels.graphics.gofplots.qqplot.
    """
    import statsmodels.api as sm

    sm.qqplot(np.asarray(values, dtype=float), line="s", ax=ax, color=PALETTE[0], **marker_options)
    ax.get_lines()[-1].set_color(PALETTE[1])  # the reference line, drawn last
    ax.set_xlabel("Normal quantile")
    ax.set_ylabel(ylabel)
    return ax


def lme4_varcorr(fit_reference: dict) -> pd.DataFrame:
    """lme4's variance components from a reference fit, laid out like ``varcorr``'s table.

    ``fit_reference``: one fit of a file read by ``load_lme4_reference`` (for instance
    ``reference["models"]["correlated"]["REML"]``), whose ``variance_components`` are the rows
    of R's ``as.data.frame(VarCorr(fit))``. Returns a DataFrame with columns ``group``,
    ``term1``, ``term2`` (empty strings where lme4 has NA), ``vcov`` and ``sdcor``, so that
    it merges with ``varcorr(result)`` on ``["group", "term1", "term2"]``. lme4 names the
    second and later groups of a ``||`` term ``Subject.1``, ``Subject.2``, ...; the suffix is
    dropped, as statsmodels has one group. Raises ``KeyError`` if the fit has no
    ``variance_components``.
    """
    frame = pd.DataFrame(fit_reference["variance_components"])
    frame["group"] = frame["group"].str.replace(r"\.\d+$", "", regex=True)
    frame[["var1", "var2"]] = frame[["var1", "var2"]].fillna("")
    frame.loc[frame["group"] == "Residual", "var1"] = ""
    return frame.rename(columns={"var1": "term1", "var2": "term2"})[
        ["group", "term1", "term2", "vcov", "sdcor"]
    ]


__all__ += ["caterpillar_plot"]


def caterpillar_plot(
    estimates: pd.Series,
    standard_errors: pd.Series,
    ax,
    *,
    xlabel: str,
    ylabel: str = "Subject",
    level: float = 0.95,
    reference: float | None = 0.0,
):
    """Caterpillar plot: one row per group, sorted by its estimate, with a normal interval.

    ``estimates``: a pandas Series of shape (n,), indexed by group label (e.g. subject),
    such as the predicted random effects (conditional modes) of one term, in that term's
    units (ms for an intercept, ms/day for a slope). ``standard_errors``: a Series with the
    same labels (in any order), shape (n,), in the same units, such as the conditional SDs
    ``np.sqrt(np.diag(result.random_effects_cov[group]))``. ``ax``: the matplotlib Axes to
    draw on. ``xlabel``: what the estimates are, with units; ``ylabel``: what a row is.
    ``level``: coverage of each interval, ``estimate +/- z * SE`` with ``z`` the
    ``(1 + level) / 2`` quantile of the standard normal (1.96 for 0.95). ``reference``:
    where to draw a vertical reference line (0 for deviations, the fixed effect for
    subject-specific coefficients); ``None`` draws none.

    Rows are drawn bottom to top in increasing order of the estimate (ties keep the order
    of ``estimates``), each labelled with its group; points in ``PALETTE[0]``. Returns
    ``ax``. Raises ``ValueError`` if ``estimates`` is empty, if its labels are not unique
    or differ from those of ``standard_errors``, if a value is not finite, if a standard
    error is negative, or if ``level`` is not strictly between 0 and 1; ``TypeError`` if
    either argument is not a Series. Source: the layout of lme4's
    ``dotplot(ranef(fit, condVar = TRUE))`` (Bates et al., 2015, J. Stat. Softw. 67(1)),
    except the order: lme4 sorts every panel by the first term (the intercept), this
    function sorts each call's rows by its own estimates.
    """
    from scipy import stats

    if not isinstance(estimates, pd.Series) or not isinstance(standard_errors, pd.Series):
        raise TypeError("estimates and standard_errors must be pandas Series indexed by group.")
    if len(estimates) == 0:
        raise ValueError("No estimates to plot.")
    if not estimates.index.is_unique:
        raise ValueError("The group labels of the estimates are not unique.")
    if len(standard_errors) != len(estimates) or set(standard_errors.index) != set(estimates.index):
        raise ValueError("estimates and standard_errors must have the same group labels.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}.")
    values = estimates.astype(float)
    spread = standard_errors.astype(float).reindex(values.index)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(spread))):
        raise ValueError("Estimates and standard errors must be finite.")
    if np.any(spread < 0):
        raise ValueError("A standard error is negative.")
    order = values.sort_values(kind="stable").index
    z = stats.norm.ppf((1 + level) / 2)
    rows = np.arange(len(order))
    if reference is not None:
        ax.axvline(reference, color="0.5", linewidth=1, zorder=1)
    ax.errorbar(
        values[order],
        rows,
        xerr=z * spread[order].to_numpy(),
        fmt="o",
        color=PALETTE[0],
        ecolor="0.35",
        markersize=4,
        elinewidth=1.2,
        capsize=0,
        zorder=2,
    )
    ax.set_yticks(rows, [str(label) for label in order])
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


# ---------------------------------------------------------------------------------------
# Self-check questions: values the site's questions read their answers from.
# ---------------------------------------------------------------------------------------

# myst-nb's marker for a value glued without being shown (myst_nb.ext.glue.GLUE_PREFIX).
_GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` in the cell's output, as myst-nb's ``glue`` does.

    The site's ``{glue}`` roles and self-check questions read the value from the stored
    output when the book is built. This writes the same output as ``myst_nb.glue`` (a
    display message whose metadata ``scrapbook`` names the value), but needs only IPython,
    so a notebook that glues still runs on Binder and Colab, where myst-nb is not installed.

    Args:
        name: the key the book refers to (unique within the notebook).
        value: any object; what is stored is its display form (``text/plain`` is its repr,
            so glue a Python ``float``, not a NumPy scalar, for a plain number).
        display: show the value in the notebook as well (default: record it only).

    Raises:
        TypeError: if ``name`` is not a non-empty string.
    Source: myst-nb 1.x, ``myst_nb.ext.glue.glue``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue needs a non-empty string name, not {name!r}")
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipython_display

    mimebundle, metadata = format_display_data(value)
    prefix = "" if display else _GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipython_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)


__all__ += ["glue"]
