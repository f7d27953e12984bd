"""Which arm sizes and counts are consistent with two printed percentages (abstract-only data).

When a paper prints only ``43.3% vs 28.8%, P = 0.02`` and a total, the integer solutions
(responders k, arm size N) for each arm are those whose k/N rounds to the printed percentage.
Enumerating them, with the p each standard test gives, shows which designs (whole cohort split
in two, or 1:1 matched pairs) could have produced the printed p.
"""

from __future__ import annotations

import pandas as pd

from . import stats as S
from .printed import parse_p


def feasible_counts(
    pct_a: str,
    pct_b: str,
    *,
    total: int | None = None,
    max_n: int | None = None,
    min_n: int = 5,
    matched: bool = False,
    printed_p: str | None = None,
) -> pd.DataFrame:
    """All (k_a, N_a, k_b, N_b) consistent with the printed percentages, with each test's p.

    ``total``: the two arms add up to it (whole cohort split in two). ``matched``: the arms have
    equal size (1:1 matching) and together at most ``total`` (or ``max_n`` per arm). With
    ``printed_p`` a column says which tests reproduce it.
    """
    if total is None and max_n is None:
        raise ValueError("give total (arms add up to it) or max_n (largest arm size to try)")
    if min_n < 1:
        raise ValueError("min_n must be at least 1")
    target = parse_p(printed_p) if printed_p else None
    if matched:
        upper = (total // 2) if total is not None else max_n
        sizes = [(n, n) for n in range(min_n, upper + 1)]
    elif total is not None:
        sizes = [(na, total - na) for na in range(min_n, total - min_n + 1)]
    else:
        sizes = [(na, nb) for na in range(min_n, max_n + 1) for nb in range(min_n, max_n + 1)]
    rows = []
    for na, nb in sizes:
        ka_all = S.grim_percentage(None, na, pct_a).candidates
        kb_all = S.grim_percentage(None, nb, pct_b).candidates
        for ka in ka_all:
            for kb in kb_all:
                tests = S.categorical_tests(S.two_by_two(ka, na, kb, nb))
                row = {"k_a": ka, "N_a": na, "k_b": kb, "N_b": nb}
                row |= {f"p {name}": res.p for name, res in tests.items()}
                if target is not None:
                    row["reproduces printed p"] = "; ".join(
                        name for name, res in tests.items() if S.p_reproduces(res.p, target)
                    )
                rows.append(row)
    return pd.DataFrame(rows)
