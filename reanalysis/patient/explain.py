"""Explanations of a fitted response model: mean |SHAP| per feature (shap's tree explainer for
tree models, its permutation explainer for the others, or sklearn's permutation importance when
shap is not importable) and its bar chart.

Deterministic for a given seed (seeded samples; numpy's global RNG is restored afterwards);
every output is aggregate.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .models import ModelResults

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "shap_plot",
    "shap_summary",
]

_SHAP_BACKGROUND = 50  # background rows integrated over by the SHAP masker
_SHAP_PERMUTATIONS = 10  # antithetic permutations per explained row
# Rows explained at most: a mean |SHAP| over 100 rows has a Monte Carlo error of about a tenth
# of the rows' spread, enough to rank features, and the permutation explainer's cost grows
# linearly with the rows (a user's cohort of thousands would otherwise take minutes).
EXPLAIN_ROWS = 100
# Tree models get exact interventional SHAP values from shap's tree explainer (compiled code,
# milliseconds) instead of sampled permutations; these are the fitted estimators it handles.
TREE_MODELS = ("RandomForestClassifier", "GradientBoostingClassifier", "DecisionTreeClassifier")
# shap's masking helpers are numba functions compiled in every new kernel: about 10 s on this
# machine (27 s under load) to save about 1 s of work on a hundred rows. Imported by this module
# they stay plain Python (same arithmetic, same values); a process that imported shap before
# keeps its compiled ones.
_SHAP_WITHOUT_NUMBA = True


# --------------------------------------------------------------------------
# explanations


def _explain_rows(X: pd.DataFrame, results: ModelResults, max_samples: int) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame")
    if tuple(map(str, X.columns)) != results.feature_names:
        raise ValueError(
            f"X columns {list(X.columns)} differ from the fitted features {list(results.feature_names)}"
        )
    if len(X) == 0:
        raise ValueError("X has no rows to explain")
    if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 1:
        raise ValueError(f"max_samples must be a positive int, got {max_samples!r}")
    Xf = X.astype(float)
    if not np.all(np.isfinite(Xf.to_numpy())):
        raise ValueError("X has missing or non-finite values")
    return Xf


def _import_shap():  # noqa: ANN202  (shap, or ImportError)
    """``import shap`` without its warnings and, unless shap is already imported, with its numba
    functions left uncompiled (:data:`_SHAP_WITHOUT_NUMBA`)."""
    import sys

    with warnings.catch_warnings():
        # shap's plotting colours trip a matplotlib deprecation, and in a Jupyter kernel its
        # tqdm.auto import warns that ipywidgets is absent (it uses no progress bar here)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.filterwarnings("ignore", message="IProgress not found")
        if not _SHAP_WITHOUT_NUMBA or "shap" in sys.modules:
            import shap

            return shap
        from numba.core import config

        before = config.DISABLE_JIT
        config.DISABLE_JIT = True  # read by numba's decorators while shap's modules are defined
        try:
            import shap
        finally:
            config.DISABLE_JIT = before
        return shap


def shap_summary(
    results: ModelResults,
    X: pd.DataFrame,
    model: str | None = None,
    seed: int = 0,
    max_samples: int = EXPLAIN_ROWS,
) -> pd.DataFrame:
    """Mean |SHAP value| per feature for one fitted model, largest first: feature, mean |SHAP|.

    SHAP values explain the predicted probability of response, with features absent taken
    from a background of 50 rows of ``X`` (interventional: features independent). A tree model
    (:data:`TREE_MODELS`) gets exact values from shap's tree explainer; any other model
    sampled ones from shap's model-agnostic permutation explainer (10 antithetic permutations
    per row). Up to ``max_samples`` rows of ``X`` are explained. Both samples are drawn
    with ``seed`` and numpy's global random state (which shap reseeds) is
    restored afterwards.  ``model`` defaults to the best model.

    If shap cannot be imported, the fallback is sklearn's permutation importance
    (mean decrease in validation AUC over 20 seeded shuffles); the value column
    is then named "AUC decrease (permutation)".  ``attrs["method"]`` says which.
    """
    name = results.best_model if model is None else model
    if name not in results.fitted:
        raise ValueError(f"model {name!r} was not fitted; fitted: {list(results.fitted)}")
    Xf = _explain_rows(X, results, max_samples)
    est = results.fitted[name]
    cols = list(Xf.columns)
    try:
        shap = _import_shap()
    except ImportError:
        return _permutation_summary(results, name, seed)

    rng = np.random.default_rng(seed)
    n = len(Xf)
    explain = Xf.iloc[np.sort(rng.choice(n, size=min(n, int(max_samples)), replace=False))]
    background = Xf.iloc[np.sort(rng.choice(n, size=min(n, _SHAP_BACKGROUND), replace=False))]
    pos = list(est.classes_).index(1)

    def predict(a: np.ndarray) -> np.ndarray:
        return est.predict_proba(pd.DataFrame(a, columns=cols))[:, pos]

    tree = type(est).__name__ in TREE_MODELS
    state = np.random.get_state()
    try:
        if tree:
            explainer = shap.TreeExplainer(
                est, background, model_output="probability", feature_perturbation="interventional"
            )
            values = np.asarray(explainer.shap_values(explain, check_additivity=False))
            if values.ndim == 3:  # one slice per class: the positive one
                values = values[..., pos]
        else:
            masker = shap.maskers.Independent(background.to_numpy(), max_samples=len(background))
            permutation = shap.explainers.Permutation(predict, masker, seed=seed)
            max_evals = _SHAP_PERMUTATIONS * (2 * len(cols) + 1)
            values = permutation(explain.to_numpy(), max_evals=max_evals, silent=True).values
    finally:
        np.random.set_state(state)
    out = pd.DataFrame({"feature": cols, "mean |SHAP|": np.abs(values).mean(axis=0)})
    out = out.sort_values(["mean |SHAP|", "feature"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = {
        "method": f"shap {shap.__version__} {'tree' if tree else 'permutation'} explainer",
        "model": name,
        "n explained": len(explain),
        "n background": len(background),
    }
    return out


def _permutation_summary(results: ModelResults, name: str, seed: int) -> pd.DataFrame:
    """Fallback when shap is unavailable: permutation importance on the validation split."""
    from sklearn.inspection import permutation_importance

    imp = permutation_importance(
        results.fitted[name],
        results._X_val,
        results._y_val,
        scoring="roc_auc",
        n_repeats=20,
        random_state=seed,
        n_jobs=1,
    )
    col = "AUC decrease (permutation)"
    out = pd.DataFrame({"feature": list(results.feature_names), col: imp.importances_mean})
    out = out.sort_values([col, "feature"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.attrs = {
        "method": "sklearn permutation importance (shap not importable)",
        "model": name,
        "n explained": len(results._y_val),
    }
    return out


# --------------------------------------------------------------------------
# figure


def shap_plot(df: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Horizontal bar chart of a :func:`shap_summary` table, most important feature on top."""
    from .. import plots

    if not isinstance(df, pd.DataFrame) or df.shape[1] < 2 or "feature" not in df.columns or df.empty:
        raise ValueError("expected the non-empty table returned by shap_summary (feature, value)")
    value = [c for c in df.columns if c != "feature"][0]
    d = df.iloc[::-1]
    fig, ax, own = plots.axes_for(ax, (6.4, 0.38 * len(d) + 1.2))
    ax.barh(d["feature"].astype(str), d[value].astype(float), color="C0")
    ax.set_xlabel(value + (" (probability of response)" if value == "mean |SHAP|" else ""))
    model = df.attrs.get("model") if isinstance(df.attrs, Mapping) else None
    if model:
        ax.set_title(f"Feature importance: {model}")
    return plots.finish(fig, own)
