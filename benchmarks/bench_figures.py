"""CPU-time benchmark of showing a tall forest plot (a script, not a timed test).

A forest plot of ``--rows`` studies and a pooled row, titled, as the synthesis page draws one at
64 studies, goes through ``plots.show`` (the measuring draw, the page's SVG, the PNG download)
``--runs`` times with the labels settled after the measuring draw (``figures.settle_labels``)
and as many times without (each save placing every label again, matplotlib's own way),
alternated, in one process. Prints the median CPU seconds of each and whether the files were
the same bytes. Run: ``.venv/bin/python benchmarks/bench_figures.py`` (defaults: 64 rows, 8 runs).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from reanalysis import downloads, figures, plots  # noqa: E402


def forest(rows: int) -> object:
    """The forest plot, built and laid out (not timed: the same either way)."""
    frame = pd.DataFrame(
        {
            "label": [f"Study {i} (synthetic copy {i})" for i in range(rows)] + ["Pooled (random effects)"],
            "estimate": [0.6 + 0.01 * i for i in range(rows)] + [0.8],
            "lower": [0.4 + 0.01 * i for i in range(rows)] + [0.7],
            "upper": [0.9 + 0.01 * i for i in range(rows)] + [0.9],
            "kind": ["study"] * rows + ["pooled"],
            "weight": [100 / rows] * rows + [float("nan")],
        }
    )
    return plots.forest_meta(frame, "Overall survival", "hazard ratio", log=True, favours=("A", "B"))


def shown(rows: int, folder: Path) -> tuple[float, bytes]:
    """CPU seconds of one ``plots.show`` of the forest, and the PNG and SVG it wrote."""
    import IPython.display

    IPython.display.display = lambda obj: None  # no notebook here: the page's HTML goes nowhere
    fig = forest(rows)
    page = downloads.start("bench", folder)
    start = time.process_time()
    plots.show(fig, "forest", page=page, alt="forest plot")
    seconds = time.process_time() - start
    return seconds, (folder / "forest.png").read_bytes() + (folder / "forest.svg").read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=64, help="studies in the forest plot")
    parser.add_argument("--runs", type=int, default=8, help="runs of each, alternated")
    args = parser.parse_args()
    settle = figures.settle_labels
    times: dict[str, list[float]] = {"settled": [], "plain": []}
    files: dict[str, set[bytes]] = {"settled": set(), "plain": set()}
    with tempfile.TemporaryDirectory() as tmp:
        shown(args.rows, Path(tmp) / "warm-up")  # fonts, caches: not part of either
        for run in range(args.runs):
            for way in ("settled", "plain"):
                figures.settle_labels = settle if way == "settled" else (lambda fig: None)
                seconds, written = shown(args.rows, Path(tmp) / f"{way}-{run}")
                times[way].append(seconds)
                files[way].add(written)
    figures.settle_labels = settle
    same = len(files["settled"] | files["plain"]) == 1
    print(f"| forest plot, {args.rows} rows, `plots.show` | median CPU s ({args.runs} runs) |")
    print("|---|---|")
    for way, label in (
        ("plain", "labels placed in every draw"),
        ("settled", "labels settled after measuring"),
    ):
        print(f"| {label} | {statistics.median(times[way]):.3f} |")
    print(f"\nPNG and SVG the same bytes both ways: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
