"""Wall-time benchmark of the book's workflow (a script, not a timed test).

Measures, with medians of several runs: a cold build (no _build/, no Snakemake metadata), a
no-change rebuild, and a one-chapter parameter re-run (li2022 with criterion=RECIST, then
back to the default). Run: `make bench` (or `.venv/bin/python benchmarks/bench.py --runs 3`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = [sys.executable, "-m", "reanalysis", "build"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results: dict[str, list[float]] = {"cold build": [], "no-change rebuild": [],
                                       "one chapter, one parameter changed": [],
                                       "papermill alone, same chapter": []}
    for _ in range(runs):
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
        shutil.rmtree(ROOT / ".snakemake", ignore_errors=True)
        results["cold build"].append(timed(BUILD))
        results["no-change rebuild"].append(timed(BUILD))
        results["one chapter, one parameter changed"].append(timed([*BUILD, "-p", "li2022.criterion=RECIST"]))
        timed(BUILD)  # back to the default parameters (re-executes li2022)
        results["papermill alone, same chapter"].append(
            timed([sys.executable, "-m", "reanalysis", "execute", "li2022", "-o", "/tmp/bench-li2022.ipynb"]))
    print(f"| step | median of {runs} (s) | runs (s) |\n|---|---|---|")
    for name, xs in results.items():
        print(f"| {name} | {statistics.median(xs):.1f} | {', '.join(f'{x:.1f}' for x in xs)} |")


if __name__ == "__main__":
    main()
