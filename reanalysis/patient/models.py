"""Machine-learning models of objective response on a user's own patient-level data.

Reproduces the design of a 238-patient seed study (eight model families for
objective response, responder = CR or PR, seeded 7:3 train/validation split,
SHAP explanations) so that a user can rerun it on their own ADSL/ADRS-style
tables.  The re-analysis adds what the seed study did not print: a DeLong 95%
confidence interval for every validation AUC (fast DeLong, Sun & Xu 2014,
checked against R pROC), a Brier score, a calibration table, and a paired
DeLong test of the "best" model against any other.

This module fits the model families and draws the ROC and calibration figures;
:mod:`.response_data` builds the model matrix, :mod:`.metrics` computes the
DeLong and calibration results and :mod:`.explain` the SHAP summaries.

Everything is deterministic for a given seed (fixed ``random_state`` in every
estimator, sorted subject order, a seeded SHAP sample with numpy's global RNG
restored afterwards), so a notebook that renders these outputs is stable.
Every output meant for display (tables, ROC points without thresholds,
calibration bins, feature importances, figures) is an aggregate: no function
of these modules returns per-patient rows except
:func:`.response_data.response_dataset`, whose ``X, y`` are model inputs and
must not be rendered.

scikit-learn and shap are imported inside the functions that need them, so
importing these modules stays cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .metrics import DelongTest, _binary_labels, _calibration_rows, auc_ci, delong_test

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MIN_PER_CLASS",
    "MODEL_FAMILIES",
    "ModelResults",
    "calibration_plot",
    "fit_models",
    "roc_plot",
]

MODEL_FAMILIES = (
    "logistic regression",
    "SVM",
    "random forest",
    "gradient boosting",
    "k-NN",
    "naive Bayes",
    "decision tree",
    "MLP",
)

# Each class needs at least this many subjects before a 7:3 split is attempted:
# with fewer, the validation set holds two or three patients per class and the
# AUC and its variance are meaningless.
MIN_PER_CLASS = 10


# --------------------------------------------------------------------------
# models


def _estimator(family: str, seed: int, n_train_min_class: int) -> Any:
    """A fresh sklearn estimator for ``family``: sklearn defaults, fixed random_state.

    Departures from the defaults: LogisticRegression max_iter=1000 and MLP
    max_iter=2000 (so they converge); the SVM is an RBF
    SVC wrapped in a sigmoid (Platt) CalibratedClassifierCV with a seeded
    stratified 5-fold split, which is what SVC(probability=True) did before its
    deprecation in scikit-learn 1.9.  Families that depend on feature scale
    (logistic regression, SVM, k-NN, MLP) get a StandardScaler in a Pipeline.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if family == "logistic regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    if family == "SVM":
        folds = StratifiedKFold(n_splits=min(5, n_train_min_class), shuffle=True, random_state=seed)
        svm = make_pipeline(StandardScaler(), SVC(random_state=seed))
        return CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
    if family == "random forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1)
    if family == "gradient boosting":
        return GradientBoostingClassifier(random_state=seed)
    if family == "k-NN":
        return make_pipeline(StandardScaler(), KNeighborsClassifier())
    if family == "naive Bayes":
        return GaussianNB()
    if family == "decision tree":
        return DecisionTreeClassifier(random_state=seed)
    if family == "MLP":
        return make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=seed))
    raise ValueError(f"unknown model family {family!r}; choose from {list(MODEL_FAMILIES)}")


@dataclass(frozen=True, eq=False)
class ModelResults:
    """Validation performance of each fitted model family (see :func:`fit_models`).

    ``table``: model, AUC, CI low, CI high (DeLong 95%), Brier, best.
    ``calibration``: per model, the non-empty bins of five equal-width bins of
    predicted probability (sklearn calibration_curve, n_bins=5; a bin holds
    probabilities above its low edge up to and including its high edge, the
    first also holds 0) with the number
    of validation subjects, mean predicted probability and observed response rate.
    ``fitted``: the estimators, fitted on the training split.  ``split``: sizes
    and responder counts of the two splits.  ``notes``: warnings raised while fitting.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    fitted: dict[str, Any]
    best_model: str
    seed: int
    split: dict[str, int]
    feature_names: tuple[str, ...]
    notes: tuple[str, ...] = ()
    _y_val: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    _X_val: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _scores: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def roc_curves(self) -> pd.DataFrame:
        """ROC points per model on the validation split: model, FPR, TPR (no thresholds).

        Thresholds are predicted probabilities of individual patients, so they are left out.
        """
        from sklearn.metrics import roc_curve

        parts = []
        for name, score in self._scores.items():
            fpr, tpr, _ = roc_curve(self._y_val, score, drop_intermediate=True)
            parts.append(pd.DataFrame({"model": name, "FPR": fpr, "TPR": tpr}))
        return pd.concat(parts, ignore_index=True)

    def compare(self, model: str, other: str | None = None) -> DelongTest:
        """Paired DeLong test of ``model`` against ``other`` (default: the best model)."""
        other = self.best_model if other is None else other
        for name in (model, other):
            if name not in self._scores:
                raise ValueError(f"model {name!r} was not fitted; fitted: {list(self._scores)}")
        return delong_test(self._y_val, self._scores[model], self._scores[other])


def _check_xy(X: object, y: object) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame (as returned by response_dataset)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty (shape {X.shape})")
    non_numeric = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if non_numeric:
        raise ValueError(f"X has non-numeric column(s) {non_numeric}; encode them first")
    if not np.all(np.isfinite(X.to_numpy(dtype=float))):
        raise ValueError("X has missing or non-finite values; drop or impute them first")
    labels = _binary_labels(y, "y")
    if labels.size != len(X):
        raise ValueError(f"y has {labels.size} values but X has {len(X)} rows")
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise ValueError("y and X must have the same index (same subjects in the same order)")
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0:
        raise ValueError("y has no responders (no CR/PR): response cannot be modelled")
    if n_neg == 0:
        raise ValueError("y has only responders (no SD/PD): response cannot be modelled")
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise ValueError(
            f"each class needs at least {MIN_PER_CLASS} subjects for a train/validation split; "
            f"got {n_pos} responders and {n_neg} non-responders"
        )
    return X.astype(float), labels


def fit_models(
    X: pd.DataFrame,
    y: pd.Series | Sequence[int],
    seed: int = 0,
    test_size: float = 0.3,
    families: Sequence[str] = MODEL_FAMILIES,
) -> ModelResults:
    """Fit each model family on a seeded stratified split and score it on the validation part.

    Per model: validation AUC with a DeLong 95% CI, Brier score and a
    five-bin calibration table.  The best model is the one with the highest
    validation AUC (the first in ``families`` order on a tie), as the seed study
    chose it; :meth:`ModelResults.compare` tests whether it is really better.
    Deterministic for a given seed and input (BLAS thread count aside).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import brier_score_loss
    from sklearn.model_selection import train_test_split

    Xf, labels = _check_xy(X, y)
    if isinstance(families, str):
        raise ValueError("families must be a sequence of model family names, not a single string")
    families = tuple(families)
    if not families:
        raise ValueError("families is empty")
    unknown = [f for f in families if f not in MODEL_FAMILIES]
    if unknown or len(set(families)) != len(families):
        raise ValueError(f"families must be distinct names from {list(MODEL_FAMILIES)}; got {list(families)}")
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must lie strictly between 0 and 1, got {test_size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}")
    seed = int(seed)

    idx = np.arange(len(Xf))
    tr, va = train_test_split(idx, test_size=float(test_size), stratify=labels, random_state=seed)
    tr, va = np.sort(tr), np.sort(va)
    X_tr, X_va, y_tr, y_va = Xf.iloc[tr], Xf.iloc[va], labels[tr], labels[va]
    for part, lab in (("training", y_tr), ("validation", y_va)):
        if min(int(lab.sum()), int(lab.size - lab.sum())) < 2:
            raise ValueError(f"the {part} split has fewer than 2 subjects in a class; change test_size")
    split = {
        "n train": int(y_tr.size),
        "responders train": int(y_tr.sum()),
        "n validation": int(y_va.size),
        "responders validation": int(y_va.sum()),
    }

    rows, calib, fitted, scores, notes = [], [], {}, {}, []
    n_min = int(min(y_tr.sum(), y_tr.size - y_tr.sum()))
    for name in families:
        est = _estimator(name, seed, n_min)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X_tr, y_tr)
        notes.extend(f"{name}: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning))
        p = est.predict_proba(X_va)[:, list(est.classes_).index(1)]
        auc, lo, hi = auc_ci(y_va, p)
        rows.append(
            {"model": name, "AUC": auc, "CI low": lo, "CI high": hi, "Brier": brier_score_loss(y_va, p)}
        )
        calib.append(_calibration_rows(name, y_va, p))
        fitted[name], scores[name] = est, p

    table = pd.DataFrame(rows)
    best = str(table.loc[int(np.argmax(table["AUC"].to_numpy())), "model"])
    table["best"] = table["model"] == best
    return ModelResults(
        table=table,
        calibration=pd.concat(calib, ignore_index=True),
        fitted=fitted,
        best_model=best,
        seed=seed,
        split=split,
        feature_names=tuple(map(str, Xf.columns)),
        notes=tuple(notes),
        _y_val=y_va,
        _X_val=X_va,
        _scores=scores,
    )


# --------------------------------------------------------------------------
# figures


def _check_results(results: object) -> ModelResults:
    if not isinstance(results, ModelResults):
        raise ValueError(f"expected ModelResults from fit_models, got {type(results).__name__}")
    return results


def roc_plot(results: ModelResults, ax: Axes | None = None) -> Figure:
    """Validation ROC curve of every model, labelled with AUC and DeLong 95% CI."""
    from .. import plots

    res = _check_results(results)
    curves = res.roc_curves()
    fig, ax, own = plots.axes_for(ax, (6.4, 6.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for i, row in enumerate(res.table.to_dict("records")):
        c = curves[curves["model"] == row["model"]]
        label = f"{row['model']}: {row['AUC']:.2f} ({row['CI low']:.2f}–{row['CI high']:.2f})"
        ax.plot(
            c["FPR"],
            c["TPR"],
            color=f"C{i % 10}",
            linewidth=2.4 if row["best"] else 1.2,
            label=label + (", best" if row["best"] else ""),
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("1 − specificity (false-positive rate)")
    ax.set_ylabel("Sensitivity (true-positive rate)")
    ax.set_title(f"Validation ROC (n = {res.split['n validation']}; AUC, DeLong 95% CI)")
    ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    return plots.finish(fig, own)


def calibration_plot(results: ModelResults, ax: Axes | None = None) -> Figure:
    """Observed response rate against mean predicted probability per bin, one line per model."""
    from .. import plots

    res = _check_results(results)
    fig, ax, own = plots.axes_for(ax, (6.4, 6.0))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    brier = dict(zip(res.table["model"], res.table["Brier"], strict=True))
    for i, name in enumerate(res.table["model"]):
        c = res.calibration[res.calibration["model"] == name]
        ax.plot(
            c["mean predicted"],
            c["observed"],
            marker="o",
            markersize=4,
            color=f"C{i % 10}",
            linewidth=2.4 if name == res.best_model else 1.2,
            label=f"{name} (Brier {brier[name]:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Mean predicted probability of response (5 equal-width bins)")
    ax.set_ylabel("Observed response rate")
    ax.set_title(f"Validation calibration (n = {res.split['n validation']})")
    ax.legend(loc="upper left", fontsize=7.5, frameon=False)
    return plots.finish(fig, own)
