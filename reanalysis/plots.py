"""Figures (seaborn/matplotlib): one builder per figure, each returning a laid-out
``Figure`` (or ``None`` when there is nothing to draw) and taking ``ax=`` where it draws one
panel. How a figure reaches a page (the style, the measuring draw, the page's SVG and the
downloads) is :mod:`reanalysis.figures`; its names are imported here too (``plots.show``).
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .checks import STATUSES
from .data import Study
from .drawing import later as later  # figures a page draws only when it must: show(later(builder, ...))
from .figures import STYLE as STYLE
from .figures import WATERMARK as WATERMARK
from .figures import axes_for as axes_for
from .figures import finish as finish
from .figures import glyphs_as_boxes as glyphs_as_boxes
from .figures import missing_glyphs as missing_glyphs
from .figures import page_width as page_width
from .figures import show as show
from .figures import styled as styled
from .figures import tight_bbox as tight_bbox
from .figures import watermark as watermark
from .vocabulary import ENDPOINT_CODES

PALETTE = ["#1f77b4", "#ff7f0e"]
STATUS_COLOURS = {
    "reproduced": "#2e7d32",
    "compatible (uninformative)": "#f9a825",
    "inconsistent": "#c62828",
    "not recomputable": "#9e9e9e",
}
# readable ticks of a log-scale ratio axis (metafor's forest plots use the same doublings)
LOG_TICKS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 100.0)
# a forest plot's interval region is at least this wide (inches), however long the row labels
FOREST_PLOT_INCHES = 3.0
# the width of an average character of a 10-pt tick label (inches), to size the label margin
FOREST_CHAR_INCHES = 0.075
# how a printed HR's model reads as a forest row label
MODEL_LABELS = {"univariable": "univariable", "multivariable": "multivariable", "psm": "propensity-matched"}


def _arm_labels(study: Study) -> dict[str, str]:
    return {a.id: f"{a.label} (N={a.n})" for a in study.arms}


RESPONSE_ORDER = ("CR", "PR", "SD", "PD", "ORR", "DCR")
# bars as seaborn draws them: colours at 75 % saturation, a group of bars 0.8 of its slot wide
BAR_SATURATION = 0.75
BAR_GROUP_WIDTH = 0.8


def _panels(n: int, height: float, width: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """``n`` panels stacked in one column (each ``height`` x ``width`` inches), top and right
    spines removed: what seaborn's ``catplot(col_wrap=1)`` lays out, without its draws (it
    lays the figure out three times and draws it twice to place a legend: 1 s a figure)."""
    fig, axes = plt.subplots(n, 1, figsize=(width, height * n), squeeze=False)
    for ax in axes.flat:
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes.flat)


@styled
def response_bars(study: Study) -> plt.Figure:
    """Best overall response per arm and criterion, as printed (% of the arm): one panel per
    criterion, the arms' bars side by side, the legend under the panels."""
    r = study["response"]
    r = r[(r["stat"] == "count") & r["category"].isin(RESPONSE_ORDER) & r["n"].notna()].copy()
    N = r["denominator"].astype("Float64").fillna(r["arm"].map(study.arm_sizes).astype("Float64"))
    r["percent"] = (100 * r["n"].astype(float) / N).astype(float)
    r["arm"] = r["arm"].map(_arm_labels(study))
    r["criterion"] = r["criterion"] + r["scope"].map(lambda x: f" ({x})" if isinstance(x, str) else "")
    arms = list(dict.fromkeys(r["arm"]))
    palette = PALETTE if len(arms) <= len(PALETTE) else sns.color_palette("colorblind", len(arms))
    colours = [sns.desaturate(c, BAR_SATURATION) for c in palette[: len(arms)]]
    criteria = list(dict.fromkeys(r["criterion"]))
    fig, axes = _panels(len(criteria), 2.8, 8.0)
    width = BAR_GROUP_WIDTH / max(len(arms), 1)
    x = np.arange(len(RESPONSE_ORDER))
    for ax, criterion in zip(axes, criteria, strict=True):
        panel = r[r["criterion"] == criterion]
        for i, (arm, colour) in enumerate(zip(arms, colours, strict=True)):
            values = panel[panel["arm"] == arm].groupby("category")["percent"].mean()  # seaborn's estimator
            heights = [values.get(c, np.nan) for c in RESPONSE_ORDER]
            offset = (i - (len(arms) - 1) / 2) * width
            ax.bar(x + offset, heights, width=width, color=colour, label=arm)
        ax.set_xticks(x, RESPONSE_ORDER)
        ax.set_xlim(-0.5, len(RESPONSE_ORDER) - 0.5)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% of arm (n/N)")
        ax.set_title(criterion)
        if ax is not axes[-1]:
            ax.tick_params(labelbottom=False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


@styled
def ae_diverging(study: Study, ax: plt.Axes | None = None) -> plt.Figure:
    """Adverse events: first arm to the left, second to the right; any grade vs grade 3–4."""
    a, b = study.comparison
    ae = study["adverse_events"]
    ae = ae[ae["grade_band"].isin(["any", "3-4"]) & ae["n"].notna()].copy()
    ae["percent"] = 100 * ae["n"].astype(float) / ae["arm"].map(study.arm_sizes)
    wide = ae.pivot_table(index="term", columns=["arm", "grade_band"], values="percent", sort=False)
    order = wide[(b, "any")].sort_values().index if (b, "any") in wide else wide.index
    fig, ax, own = axes_for(ax, (8, 0.45 * len(order) + 1.4))
    y = range(len(order))
    for arm, sign, colour in ((a, -1, PALETTE[0]), (b, 1, PALETTE[1])):
        for band, alpha, label in (("any", 0.35, "any grade"), ("3-4", 1.0, "grade 3–4")):
            if (arm, band) in wide:
                ax.barh(
                    list(y),
                    sign * wide.loc[order, (arm, band)].fillna(0),
                    color=colour,
                    alpha=alpha,
                    label=f"{study.arm(arm).label}: {label}",
                    height=0.7,
                )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(list(y), list(order))
    ticks = [-100, -50, 0, 50, 100]
    ax.set_xticks(ticks, [str(abs(t)) for t in ticks])
    ax.set_xlim(-105, 105)
    ax.set_xlabel("% of arm")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False, fontsize=8)
    return finish(fig, own)


@styled
def status_bars(counts: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Figure:
    """Stacked bars of check statuses per kind of check."""
    data = counts.drop(index="total", errors="ignore")[list(STATUSES)]
    fig, ax, own = axes_for(ax, (7, 0.5 * len(data) + 1.2))
    data.plot.barh(stacked=True, ax=ax, color=[STATUS_COLOURS[s] for s in STATUSES], width=0.7)
    ax.set_xlabel("number of checks")
    ax.set_ylabel("")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    return finish(fig, own)


@styled
def ae_grades(study: Study, arm: str, ax: plt.Axes | None = None) -> plt.Figure:
    """Single arm: adverse events by grade, stacked, as % of the arm (grades 1–5 as printed)."""
    ae = study["adverse_events"]
    ae = ae[(ae["arm"] == arm) & ae["grade_band"].isin(["1", "2", "3", "4", "5"]) & ae["n"].notna()].copy()
    N = study.arm_sizes[arm]
    ae["percent"] = 100 * ae["n"].astype(float) / N
    wide = ae.pivot_table(index="term", columns="grade_band", values="percent", aggfunc="sum", sort=False)
    wide = wide.reindex(columns=[g for g in ["1", "2", "3", "4", "5"] if g in wide.columns]).fillna(0)
    wide = wide.loc[wide.sum(axis=1).sort_values().index]
    fig, ax, own = axes_for(ax, (8, 0.35 * len(wide) + 1.5))
    colours = sns.color_palette("rocket_r", n_colors=5)
    wide.plot.barh(stacked=True, ax=ax, color=[colours[int(g) - 1] for g in wide.columns], width=0.75)
    ax.set_xlabel(f"% of {study.arm(arm).label} (N={N})")
    ax.set_ylabel("")
    ax.legend(title="CTCAE grade", loc="lower right", frameon=False)
    return finish(fig, own)


@styled
def factor_medians(study: Study) -> plt.Figure | None:
    """Median survival per prognostic-factor level as printed (dot per level, the printed
    interval as a line; one panel per endpoint, the levels in the order printed, the same rows
    in every panel)."""
    sv = study["survival"]
    sub = sv[sv["subgroup"].notna() & (sv["statistic"] == "median")].copy()
    if sub.empty:
        return None
    levels = list(dict.fromkeys(sub["subgroup"]))
    height = 0.3 * len(levels) + 1.8
    endpoints = list(dict.fromkeys(sub["endpoint"]))
    fig, axes = _panels(len(endpoints), height, height * min(1.1, 8 / height))  # stacked: at most 8 in wide
    row = {level: i for i, level in enumerate(levels)}
    for ax, endpoint in zip(axes, endpoints, strict=True):
        grp = sub[sub["endpoint"] == endpoint]
        y = grp["subgroup"].map(row).to_numpy(dtype=float)
        for lo, hi, yi in zip(grp["lower"], grp["upper"], y, strict=True):
            if pd.notna(lo) and pd.notna(hi):
                ax.plot([lo, hi], [yi, yi], color=PALETTE[0], linewidth=1)
        ax.plot(grp["value"].to_numpy(dtype=float), y, "o", color=PALETTE[0], markersize=7, linestyle="none")
        ax.set_yticks(range(len(levels)), levels)
        ax.set_ylim(len(levels) - 0.5, -0.5)  # first level at the top
        ax.set_title(endpoint)
    axes[-1].set_xlabel("median survival, months (as printed)")
    fig.tight_layout()
    return fig


@styled
def feasibility_scatter(split: pd.DataFrame, matched: pd.DataFrame, inputs) -> plt.Figure | None:
    """p of each test against the first arm's size, for every count table that fits the printed %."""
    if inputs is None or (split.empty and matched.empty):
        return None
    from .printed import parse_p

    frames = []
    for label, df in (("whole cohort split", split), ("1:1 matched", matched)):
        if df.empty:
            continue
        long = df.melt(
            id_vars=["N_a"],
            value_vars=[c for c in df.columns if c.startswith("p ")],
            var_name="test",
            value_name="p",
        )
        long["design"] = label
        long["test"] = long["test"].str[2:]
        frames.append(long)
    data = pd.concat(frames, ignore_index=True)
    g = sns.relplot(
        data=data,
        x="N_a",
        y="p",
        hue="test",
        col="design",
        col_wrap=1,
        s=14,
        height=3.2,
        aspect=1.2,
        facet_kws={"sharex": False},
    )
    if inputs[2]:
        lo, hi = parse_p(inputs[2]).interval()
        for ax in g.axes.flat:
            ax.axhspan(lo, hi, color="#c62828", alpha=0.15, linewidth=0)
            ax.set_yscale("log")
    g.set_axis_labels("size of the first arm", "p (log scale); band = printed p")
    g.set_titles("{col_name}")
    g.figure.tight_layout()
    return g.figure


def forest_rows(study: Study) -> tuple[pd.DataFrame, list[str]]:
    """The printed treatment HRs a study forest shows (one header row per endpoint, then its
    rows), and the printed HRs left out, each with why, for the caption."""
    hr = study["hazard_ratios"]
    hr = hr[hr["comparison"].str.contains(" vs ", regex=False)]
    wanted = f"{study.comparison[0]} vs {study.comparison[1]}" if study.is_two_arm else None
    excluded: list[str] = []
    keep = []
    for i, r in hr.iterrows():
        name = f"{r['endpoint']} {r['subgroup'] if isinstance(r['subgroup'], str) else r['model']}"
        if wanted is not None and r["comparison"] != wanted:
            continue  # a covariate's or another contrast's HR: not a treatment effect of this forest
        if pd.isna(r["lower"]) or pd.isna(r["upper"]) or not r["hr"] > 0:
            excluded.append(f"{name} (printed without a confidence interval)")
        else:
            keep.append(i)
    hr = hr.loc[keep]
    # one colour per endpoint, from tab10, whose first two are PALETTE (OS, PFS)
    tab10 = [matplotlib.colors.to_hex(c) for c in plt.get_cmap("tab10").colors]
    colours = {e: tab10[i % len(tab10)] for i, e in enumerate(ENDPOINT_CODES)}
    rows = []
    for endpoint, grp in hr.groupby("endpoint", sort=False):
        rows.append({"label": str(endpoint), "kind": "header"})
        for _, r in grp.iterrows():
            label = (
                r["subgroup"] if isinstance(r["subgroup"], str) else MODEL_LABELS.get(r["model"], r["model"])
            )
            rows.append(
                {
                    "label": f"  {label}",
                    "kind": "row",
                    "estimate": r["hr"],
                    "lower": r["lower"],
                    "upper": r["upper"],
                    "colour": colours.get(endpoint, "black"),
                }
            )
    return pd.DataFrame(rows, columns=["label", "kind", "estimate", "lower", "upper", "colour"]), excluded


def forest_favours(study: Study) -> tuple[str, str] | None:
    """The arms each side of a study forest's null line favours (None: a one-arm study)."""
    if not study.is_two_arm:
        return None
    a, b = study.comparison
    return study.arm(a).short, study.arm(b).short


def forest(study: Study, ax: plt.Axes | None = None) -> plt.Figure | None:
    """Forest plot of the printed treatment HRs (overall and by subgroup), log scale, one
    panel (header row) per endpoint."""
    return hr_forest(forest_rows(study)[0], forest_favours(study), ax=ax)


@styled
def hr_forest(
    rows: pd.DataFrame, favours: tuple[str, str] | None, ax: plt.Axes | None = None
) -> plt.Figure | None:
    """:func:`forest` from what it draws (:func:`forest_rows`, :func:`forest_favours`): a page
    keeps its rendering while those stay, whatever else in the study changes."""
    if rows.empty:
        return None
    return forest_plot(
        rows,
        xlabel="hazard ratio as printed (log scale)",
        figsize=(7, 0.4 * len(rows) + 1.6),
        ax=ax,
        favours=favours,
    )


def _log_ticks(ax: plt.Axes, values: list[float]) -> None:
    """A log axis from the data (and at least 0.5–2), running from the readable tick
    (:data:`LOG_TICKS`: 0.25, 0.5, 1, 2, 4, …) below the smallest value to the one above the
    largest, ticked as plain numbers, no minor ticks."""
    finite = [v for v in values if v is not None and np.isfinite(v) and v > 0]
    lo, hi = min([0.5, *finite]), max([2.0, *finite])
    below = [t for t in LOG_TICKS if t <= lo]
    above = [t for t in LOG_TICKS if t >= hi]
    lo = below[-1] if below else lo
    hi = above[0] if above else hi
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.1, hi * 1.1)
    ticks = [t for t in LOG_TICKS if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def forest_plot(
    rows: pd.DataFrame,
    xlabel: str,
    title: str = "",
    log: bool = True,
    scale: float = 1.0,
    figsize: tuple[float, float] | None = None,
    ax: plt.Axes | None = None,
    *,
    estimate_header: str = "HR (95% CI)",
    favours: tuple[str, str] | None = None,
    heterogeneity: str = "",
) -> plt.Figure:
    """The one forest plot: a row per line of ``rows``, top to bottom, with text columns on the
    right (estimate and CI; ``n`` when the rows have it; weight when they have one).

    ``rows`` has ``label``, ``estimate``, ``lower``, ``upper`` and optionally ``kind``
    (``row``: square and CI; ``header``: a bold label that starts a panel, with a rule above;
    ``study``: square sized by ``weight`` (%); ``pooled``: diamond with its prediction interval
    ``pi_lower``–``pi_upper`` dotted), ``colour`` and ``n`` (text). Estimates are multiplied by
    ``scale``; on a log axis the null line is at 1 and ``favours`` (left, right) names the arm
    each side favours. ``heterogeneity`` is printed under the plot (τ², I², Q p).
    """
    kind = rows["kind"] if "kind" in rows else pd.Series("row", index=rows.index)
    has_n = int("n" in rows and rows["n"].notna().any())
    has_w = int("weight" in rows and (kind == "study").any())
    width, height = figsize or (7, 0.4 * len(rows) + 1.6)
    # wide enough for the row labels, a plot region of FOREST_PLOT_INCHES and the text columns:
    # long study labels must not squeeze the intervals into a sliver
    labels_in = FOREST_CHAR_INCHES * max((len(str(x)) for x in rows["label"]), default=0)
    columns_in = (110 + 50 * (has_n + has_w) + 40) / 72  # the columns' offsets below, in inches
    fig, ax, own = axes_for(ax, (max(width, labels_in + FOREST_PLOT_INCHES + columns_in), height))
    y = list(range(len(rows)))[::-1]
    # text columns right of the plot, at fixed offsets in points (whatever the axes' width)
    columns = [(8, estimate_header)] + [(110, "n")] * has_n + [(110 + 50 * has_n, "weight")] * has_w
    digits = 1 if scale == 100 else 2  # percentages to one decimal, ratios to two

    def column_text(x: float, yi: float, text: str, **style: object) -> None:
        ax.annotate(text, (1, yi), xycoords=("axes fraction", "data"), xytext=(x, 0),
                    textcoords="offset points", va="center", fontsize=8, **style)  # fmt: skip

    values: list[float] = []
    for yi, k, (_, r) in zip(y, kind, rows.iterrows(), strict=True):
        if k == "header":
            if yi != y[0]:
                ax.axhline(yi + 0.5, color="#bbbbbb", linewidth=0.6)
            continue
        if pd.isna(r["estimate"]):
            continue
        est, lo, hi = (scale * r[c] for c in ("estimate", "lower", "upper"))
        values += [lo, hi]
        colour = r["colour"] if "colour" in r.index and isinstance(r["colour"], str) else PALETTE[0]
        cells = {estimate_header: f"{est:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"}
        if has_n and isinstance(r.get("n"), str):
            cells["n"] = r["n"]
        if has_w and pd.notna(r.get("weight")):
            cells["weight"] = f"{r['weight']:.0f}%"
        for x, name in columns:
            if name in cells:
                column_text(x, yi, cells[name], fontweight="bold" if k == "pooled" else "normal")
        if k == "pooled":
            ax.fill([lo, est, hi, est], [yi, yi + 0.25, yi, yi - 0.25], color="black")
            if pd.notna(r.get("pi_lower")):
                values += [scale * r["pi_lower"], scale * r["pi_upper"]]
                ax.plot([scale * r["pi_lower"], scale * r["pi_upper"]], [yi, yi], color="black",
                        linewidth=1, linestyle=":")  # fmt: skip
            continue
        size = 4 + r["weight"] / 8 if k == "study" and pd.notna(r.get("weight")) else 5
        ax.plot([lo, hi], [yi, yi], color=colour, linewidth=1.3)
        ax.plot([est], [yi], marker="s", markersize=size, color=colour)
    for x, name in columns:
        column_text(x, len(rows) - 0.5, name, fontweight="bold")
    ax.set_yticks(y, rows["label"].tolist())
    for tick, k in zip(ax.get_yticklabels(), kind, strict=True):
        if k in ("header", "pooled"):
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    if log:
        _log_ticks(ax, values)
        ax.axvline(1, color="black", linewidth=0.8, linestyle="--")
        if favours:  # under the tick labels, each side of the null line
            for text, ha, dx in (
                (f"← favours {favours[0]}", "right", -4),
                (f"favours {favours[1]} →", "left", 4),
            ):
                ax.annotate(
                    text,
                    (1, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(dx, -22),
                    textcoords="offset points",
                    ha=ha,
                    va="top",
                    fontsize=8,
                    color="#444444",
                )
    ax.set_xlabel(xlabel, labelpad=16 if log and favours else 4)
    if heterogeneity:
        ax.annotate(heterogeneity, (0, 0), xycoords="axes fraction", xytext=(0, -50 if favours else -40),
                    textcoords="offset points", ha="left", va="top", fontsize=8)  # fmt: skip
    if title:
        ax.set_title(title, fontsize=10, pad=14)
    return finish(fig, own)


@styled
def km_reconstructed(
    ipd: pd.DataFrame,
    study: Study,
    endpoint: str,
    landmarks: dict[str, dict[float, float]],
    title: str,
    medians: dict[str, str] | None = None,
    effect: str = "",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    """Kaplan–Meier curves of reconstructed pseudo-IPD per arm (survminer style): short arm
    labels in the arms' colours in a legend above the curves, censor marks, printed landmark
    rates as diamonds, median drop lines, ``effect`` (HR (95% CI) and p) in the plot, and a
    number-at-risk table aligned under the time axis, its rows in the arms' colours."""
    from lifelines import KaplanMeierFitter

    fig, ax, own = axes_for(ax, (8, 5.6))
    fitted = []
    for colour, (arm, df) in zip(PALETTE * 3, ipd.groupby("arm", sort=False), strict=False):
        label = study.arm(arm).short
        med = (medians or {}).get(arm)
        kmf = KaplanMeierFitter(label="x")
        kmf.fit(df["time"], df["event"])
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        ax.step(sf.index, sf.to_numpy(), where="post", color=colour, linewidth=1.8,
                label=f"{label} (printed median {med})" if med else label)  # fmt: skip
        ax.fill_between(ci.index, ci.iloc[:, 0], ci.iloc[:, 1], step="post", color=colour, alpha=0.15,
                        linewidth=0)  # fmt: skip
        censored = df.loc[df["event"] == 0, "time"].to_numpy(float)
        ax.plot(censored, sf.reindex(sf.index.union(censored)).ffill().loc[censored].to_numpy(),
                linestyle="none", marker="|", markersize=6, color=colour)  # fmt: skip
        median = float(kmf.median_survival_time_)
        if math.isfinite(median):
            ax.plot([0, median, median], [0.5, 0.5, 0], color=colour, linestyle=":", linewidth=1)
        lm = landmarks.get(arm) or {}
        if lm:
            ax.scatter(list(lm), list(lm.values()), marker="D", s=30, color=colour, edgecolor="black",
                       zorder=5)  # fmt: skip
        fitted.append((label, colour, df))
    if any(landmarks.values()):
        ax.scatter([], [], marker="D", s=30, color="white", edgecolor="black", label="printed rates")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, float(ipd["time"].max()) * 1.02)
    ax.set_xlabel("months")
    ax.set_ylabel(f"{endpoint}: survival probability")
    if effect:
        ax.text(0.02, 0.03, effect, transform=ax.transAxes, ha="left", va="bottom", fontsize=8, zorder=6,
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "boxstyle": "round,pad=0.4"})  # fmt: skip
    legend = ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=8, frameon=False)
    if title:
        rows = math.ceil(len(legend.get_texts()) / 2)
        ax.set_title(title, fontsize=10, loc="left", pad=8 + 14 * rows)
    _risk_table(ax, fitted)
    return finish(fig, own)


def _risk_table(ax: plt.Axes, arms: list[tuple[str, str, pd.DataFrame]]) -> None:
    """Numbers at risk at the time axis' ticks, one row per arm in its colour, under the axis."""
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks)
    x_data = matplotlib.transforms.blended_transform_factory(ax.transData, ax.transAxes)
    left = matplotlib.transforms.blended_transform_factory(ax.transAxes, ax.transAxes)
    ax.text(0, -0.2, "Number at risk", transform=left, ha="left", va="top", fontsize=8, fontweight="bold")
    for i, (label, colour, df) in enumerate(arms):
        y = -0.28 - 0.07 * i
        ax.text(-0.06, y, label, transform=left, ha="right", va="top", fontsize=8, color=colour)
        times = df["time"].to_numpy(float)
        for t in ticks:
            ax.text(t, y, str(int((times >= t).sum())), transform=x_data, ha="center", va="top", fontsize=8,
                    color=colour)  # fmt: skip


def km_alt(ipd: pd.DataFrame, study: Study, endpoint: str, effect: str = "") -> str:
    """Alt text of a reconstructed Kaplan–Meier figure: endpoint, arms and their medians."""
    from lifelines import KaplanMeierFitter

    arms = []
    for arm, df in ipd.groupby("arm", sort=False):
        median = float(KaplanMeierFitter().fit(df["time"], df["event"]).median_survival_time_)
        med = f"median {median:.1f} months" if math.isfinite(median) else "median not reached"
        arms.append(f"{study.arm(arm).label} ({len(df)} patients, {med})")
    text = f"Kaplan–Meier curves of {endpoint} reconstructed from printed summaries: " + " and ".join(arms)
    return text + (f"; {effect.replace(chr(10), '; ')}" if effect else "") + "."


@styled
def baseline_ecdf(baseline: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Figure | None:
    """ECDF of printed baseline p-values per study against the uniform line (Carlisle-style)."""
    if baseline.empty:
        return None
    fig, ax, own = axes_for(ax, (5.5, 4.5))
    for colour, (sid, grp) in zip(
        sns.color_palette("colorblind"), baseline.groupby("study", sort=True), strict=False
    ):
        p = sorted(grp["p printed"].astype(float))
        ax.step(
            [0, *p, 1],
            [0, *[(i + 1) / len(p) for i in range(len(p))], 1],
            where="post",
            color=colour,
            label=f"{sid} (n={len(p)})",
        )
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=0.8, label="uniform")
    ax.set_xlabel("printed baseline p-value")
    ax.set_ylabel("cumulative share")
    ax.legend(frameon=False, fontsize=8)
    return finish(fig, own)


@styled
def audit_bars(counts: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Figure:
    """Checks per study, stacked by status, in the order of ``counts``
    (:func:`reanalysis.audit.counts_by_study`: a ``Study`` column, a total row left out)."""
    return status_bars(counts.set_index("Study"), ax=ax)


@styled
def forest_meta(
    frame: pd.DataFrame | None,
    title: str,
    xlabel: str,
    log: bool = False,
    scale: float = 1.0,
    ax: plt.Axes | None = None,
    *,
    estimate_header: str = "estimate (95% CI)",
    favours: tuple[str, str] | None = None,
    heterogeneity: str = "",
) -> plt.Figure | None:
    """Forest plot of a pooled analysis: studies (square size ~ weight, weight column) and the
    pooled diamond with its prediction interval, the heterogeneity line under it."""
    if frame is None:
        return None
    return forest_plot(
        frame, xlabel, title, log=log, scale=scale, figsize=(7.5, 0.45 * len(frame) + 1.9), ax=ax,
        estimate_header=estimate_header, favours=favours, heterogeneity=heterogeneity,
    )  # fmt: skip


@styled
def truth_vs_reconstruction(
    name: str = "colon-40", n_rep: int = 20, seed: int = 1, ax: plt.Axes | None = None
) -> plt.Figure:
    """The real Kaplan-Meier curves of one validation data set (``reanalysis.validation``), its
    central reconstruction and ``n_rep`` random draws (thin), per arm; printed rates as diamonds."""
    from .reconstruct import reconstruct_arm as _arm
    from .validation import ALL, arms, printed

    case = ALL[name]
    real = arms(case)
    fig, ax, own = axes_for(ax, (8, 4.8))
    for k, (df, colour, label) in enumerate(zip(real, PALETTE, ("first arm", "second arm"), strict=True)):
        p = printed(df, case.landmarks)
        for r in range(n_rep):
            rep = _arm(**p, seed=seed * 1000 + 100 * k + r)
            ax.step(*_km_steps(rep), where="post", color=colour, alpha=0.15, linewidth=0.7)
        ax.step(*_km_steps(df), where="post", color=colour, linewidth=2.2, label=f"{label}: real data")
        ax.step(*_km_steps(_arm(**p)), where="post", color="black", linestyle="--", linewidth=1.1,
                label="central reconstruction" if k == 0 else None)  # fmt: skip
        ax.scatter(list(p["landmarks"]), list(p["landmarks"].values()), marker="D", s=30, color=colour,
                   edgecolor="black", zorder=5, label=f"{label}: printed rates")  # fmt: skip
    ax.plot([], [], color="grey", alpha=0.5, linewidth=0.7, label=f"{n_rep} replicates per arm")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("months" if case.load.startswith("r:") else "time")
    ax.set_ylabel("survival probability")
    ax.set_title(f"{case.title}: real data vs reconstruction from printed summaries", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return finish(fig, own)


def _km_steps(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:  # plain steps, no lifelines styling
    """Times and Kaplan-Meier estimates for a step plot, from 0 to the last time."""
    t = df["time"].to_numpy(float)
    e = df["event"].to_numpy(int)
    times = np.unique(t)
    at_risk = np.array([(t >= u).sum() for u in times])
    deaths = np.array([((t == u) & (e == 1)).sum() for u in times])
    s = np.cumprod(1 - deaths / at_risk)
    return np.r_[0.0, times], np.r_[1.0, s]
