# The book's workflow: execute each chapter with papermill (only when its template, the
# package code, its study's data or its parameters changed), then build the site.
# Run it through `python -m reanalysis build` (which validates parameters first); on a
# cluster, add an executor plugin, e.g. `--executor slurm`.
import json
import os
import sys
from pathlib import Path

from reanalysis import buildstate
from reanalysis.chapter_inputs import data_files, files_under
from reanalysis.data import list_studies
from reanalysis.pipeline import (
    all_parameters,
    load_chapters,
    package_stamp,
    results_read,
    write_entry,
    write_parameters,
)

PY = sys.executable
CHAPTERS = load_chapters()
OVERRIDES = config.get("overrides") or {}
if isinstance(OVERRIDES, str):
    OVERRIDES = json.loads(OVERRIDES)
# the package (code, rules kept as data, data sets) as one file holding its digest, rewritten only
# when the package changes: one input a job instead of each of the package's files
PACKAGE = [os.path.relpath(package_stamp())]
STAMPS = "_build/.stamps"
# each chapter's own entry of chapters.yml, rewritten only when it changes: registering a new
# chapter does not re-run the others
ENTRY = {chapter: os.path.relpath(write_entry(chapter, CHAPTERS)) for chapter in CHAPTERS}

STUDIES = list_studies()
RESULTS = "_build/results/{study}/checks.json"  # reanalysis.results.artefact_path

wildcard_constraints:
    chapter="|".join(sorted(CHAPTERS)),
    study="|".join(STUDIES) or "(?!)",


# every chapter's parameters, read by its step (not Snakemake `params`: see write_parameters);
# `build` has worked them out and written them (config `parameters`), else they are worked out here
if config.get("parameters"):
    PARAMETERS = config["parameters"]
    VALUES = json.loads(Path(PARAMETERS).read_text(encoding="utf-8"))
else:
    VALUES = all_parameters(OVERRIDES, CHAPTERS)
    PARAMETERS = os.path.relpath(write_parameters(VALUES))


def parameters(chapter):
    return VALUES[chapter]


# the chapters that render no study's results: nothing to wait for
FREE = sorted(c for c in CHAPTERS if not results_read(c, parameters(c), STUDIES, CHAPTERS))


def chapter_inputs(wildcards):
    values = parameters(wildcards.chapter)
    # the results artefacts the chapter renders (reanalysis.pipeline.results_read), and the
    # data it reads apart from those studies' (reanalysis.chapter_inputs.data_files)
    read = results_read(wildcards.chapter, values, STUDIES, CHAPTERS)
    return [
        ENTRY[wildcards.chapter],
        "book/templates/" + CHAPTERS[wildcards.chapter]["template"],
        *PACKAGE,
        *data_files(wildcards.chapter, values, read, CHAPTERS, Path("data")),
        *expand(RESULTS, study=read),
    ]


rule all:
    input:
        f"{STAMPS}/site.done",


# Every study's results job first, then the chapters longest first (reanalysis.buildstate)
def chapter_priority(wildcards):
    return buildstate.chapter_priority(wildcards.chapter, waits_for_results=wildcards.chapter not in FREE)


rule results:
    input:
        PACKAGE,
        lambda wildcards: files_under(wildcards.study, Path("data")),
    output:
        RESULTS,
    priority: buildstate.RESULTS_PRIORITY
    shell:
        '"{PY}" -m reanalysis results {wildcards.study}'


rule chapter:
    input:
        chapter_inputs,
    output:
        f"{STAMPS}/{{chapter}}.done",
    priority: chapter_priority
    shell:
        '"{PY}" -m reanalysis execute {wildcards.chapter} --params-file {PARAMETERS:q} --stamp {output}'


rule site:
    input:
        expand(f"{STAMPS}/{{chapter}}.done", chapter=sorted(CHAPTERS)),
        "_config.yml",
        "_toc.yml",
        sorted(str(p) for p in Path("book").glob("*.md")),
        sorted(str(p) for p in Path("book/_ext").glob("*.py")),  # Sphinx extensions of the site
        sorted(str(p) for p in Path("book/_static").glob("*")),  # the site's CSS
    output:
        f"{STAMPS}/site.done",
    shell:
        '"{PY}" -m reanalysis site && touch {output}'
