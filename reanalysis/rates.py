"""Response rates with confidence intervals, from the printed counts (per arm and the difference)."""

from __future__ import annotations

import pandas as pd

from . import stats as S
from .checks.lookup import denominator_of
from .data import Study


def rate_table(study: Study, criterion: str, method: str = "wilson", alpha: float = 0.05) -> pd.DataFrame:
    """ORR and DCR per arm with CIs, and the risk difference (first arm minus second) with CI."""
    resp = study["response"]
    a, b = study.comparison
    rows = []
    for cat in ("ORR", "DCR"):
        sel = resp[(resp["criterion"] == criterion) & (resp["category"] == cat) & resp["scope"].isna()]
        sel = sel[sel["n"].notna()].set_index("arm")
        if not {a, b} <= set(sel.index) or not {a, b} <= set(study.arm_sizes):
            continue
        na, nb = int(sel.loc[a, "n"]), int(sel.loc[b, "n"])
        Na, Nb = study.arm_sizes[a], study.arm_sizes[b]
        lo_a, hi_a = S.proportion_ci(na, Na, method, alpha)
        lo_b, hi_b = S.proportion_ci(nb, Nb, method, alpha)
        d, dlo, dhi = S.risk_difference_ci(na, Na, nb, Nb, "newcombe", alpha)
        rows.append(
            {
                "outcome": cat,
                "arm_a_n": na,
                "arm_a_N": Na,
                "arm_a_rate": na / Na,
                "arm_a_lo": lo_a,
                "arm_a_hi": hi_a,
                "arm_b_n": nb,
                "arm_b_N": Nb,
                "arm_b_rate": nb / Nb,
                "arm_b_lo": lo_b,
                "arm_b_hi": hi_b,
                "diff": d,
                "diff_lo": dlo,
                "diff_hi": dhi,
            }
        )
    columns = [
        "outcome",
        "arm_a_n",
        "arm_a_N",
        "arm_a_rate",
        "arm_a_lo",
        "arm_a_hi",
        "arm_b_n",
        "arm_b_N",
        "arm_b_rate",
        "arm_b_lo",
        "arm_b_hi",
        "diff",
        "diff_lo",
        "diff_hi",
    ]
    return pd.DataFrame(rows, columns=columns)


def arm_rates(study: Study, method: str = "wilson", alpha: float = 0.05) -> pd.DataFrame:
    """ORR and DCR of every arm, criterion and scope with a confidence interval."""
    resp = study["response"]
    rows = []
    sel = resp[resp["category"].isin(["ORR", "DCR"]) & resp["n"].notna()]
    for _, r in sel.iterrows():
        N = denominator_of(study, r)
        if N is None:
            continue
        lo, hi = S.proportion_ci(int(r["n"]), N, method, alpha)
        rows.append(
            {
                "arm": r["arm"],
                "criterion": r["criterion"],
                "scope": r["scope"] if pd.notna(r["scope"]) else "",
                "outcome": r["category"],
                "n": int(r["n"]),
                "N": N,
                "rate": int(r["n"]) / N,
                "lo": lo,
                "hi": hi,
            }
        )
    return pd.DataFrame(rows, columns=["arm", "criterion", "scope", "outcome", "n", "N", "rate", "lo", "hi"])
