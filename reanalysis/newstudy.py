"""``python -m reanalysis new-study ID``: scaffold a study folder, or register one as a chapter.

When ``data/ID/`` does not exist, it is created with a commented ``study.yml`` and every table
of :mod:`reanalysis.schema` as a CSV holding only its header (fill in what the paper printed,
delete the rest). When it exists, it is validated and registered: an entry in
``book/chapters.yml`` and a line in ``_toc.yml``, with the template chosen from what the data
hold (arm sizes printed or not, one arm or two). Re-running either step changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import ParameterError

STUDY_ID_RE = re.compile(r"^[a-z0-9_]+$")

# template by design, decided from study.yml alone (what the data hold, never the study's name)
TEMPLATE_TWO_ARM = "two_arm_study.ipynb"
TEMPLATE_SINGLE_ARM = "single_arm_study.ipynb"
TEMPLATE_ABSTRACT = "abstract_study.ipynb"

STUDY_YML = """\
# Study metadata. Format: data/README.md (section `study.yml`); every CSV beside this file is
# described there too. Check it with `python -m reanalysis validate {id}`, then register it as a
# chapter with `python -m reanalysis new-study {id}` (run again once this folder is filled in).
id: {id}                        # must equal the folder name
short_title: "{id}"             # e.g. "Li 2022": used in titles and tables
citation: "TODO: authors, journal (year) volume:page"
doi: null                       # when the source prints one
journal: null
year: null
design: "TODO: e.g. retrospective, single centre, two arms"
period: null                    # e.g. "January 2018 to March 2021"
source: "TODO: the source file's name, e.g. 004_2a574011e3c7481b.txt"
arms:                           # n: null when the paper does not print the arm's size
  - {{id: arm_a, label: "TODO: arm A as printed", n: 1, contains_rt: false}}
  - {{id: arm_b, label: "TODO: arm B as printed", n: 1, contains_rt: false}}
comparison: [arm_a, arm_b]      # effect = first vs second; delete for a single-arm study
# total_n: 100                  # when the arm sizes are not printed
response_criteria: []           # e.g. ["RECIST 1.1", "mRECIST"]; [] when no response is printed
ae_grading: null                # e.g. CTCAE 5.0
tests_named: {{}}                 # what the methods say they used, e.g. {{survival: log-rank}}
"""


def check_id(study_id: str) -> str:
    """The id, or a ParameterError: ids name folders, pages and URLs, so only ``[a-z0-9_]``."""
    if not STUDY_ID_RE.match(study_id or ""):
        raise ParameterError(
            f"new-study: study id {study_id!r} must match {STUDY_ID_RE.pattern} "
            "(lower-case letters, digits and underscores)"
        )
    return study_id


def scaffold(study_id: str, data_dir: Path) -> list[Path]:
    """Create ``data_dir/ID`` with a commented study.yml and header-only CSVs; return the files."""
    from .schema import TABLE_ORDER, TABLES

    folder = Path(data_dir) / check_id(study_id)
    folder.mkdir(parents=True)
    written = [folder / "study.yml"]
    written[0].write_text(STUDY_YML.format(id=study_id), encoding="utf-8")
    for table in TABLE_ORDER:
        path = folder / f"{table}.csv"
        path.write_text(",".join(TABLES[table]) + "\n", encoding="utf-8")
        written.append(path)
    return written


def choose_template(meta: dict, arms: list) -> str:
    """The chapter template for what a study's data hold."""
    if any(a.n is None for a in arms):
        return TEMPLATE_ABSTRACT  # arm sizes not printed: an abstract or summary page
    return TEMPLATE_TWO_ARM if meta.get("comparison") else TEMPLATE_SINGLE_ARM


def _study_chapters(chapters: dict) -> list[str]:
    """The studies' own chapters (named for their study, as :func:`register` names them); not a
    chapter that only borrows a study, as the patient-level worked example does (its chapter is
    under About: a new study placed after it went there too)."""
    return [c for c, ch in chapters.items() if (ch.get("parameters") or {}).get("study_id") == c]


def register(study_id: str, data_dir: Path, book_root: Path) -> list[str]:
    """Validate the study, then add its chapter to chapters.yml and _toc.yml where missing.

    Returns what was changed (empty when it was registered already). The files are edited as
    text, so their comments and order stay as they are."""
    from .data import load_study

    study = load_study(check_id(study_id), data_dir)  # bad data stops here, naming file/line/column
    template = choose_template(study.meta, study.arms)
    changes: list[str] = []
    chapters_file = book_root / "book" / "chapters.yml"
    text = chapters_file.read_text(encoding="utf-8")
    chapters = (yaml.safe_load(text) or {}).get("chapters") or {}
    if study_id not in chapters:
        entry = f"  {study_id}:\n    template: {template}\n    parameters:\n      study_id: {study_id}\n"
        chapters_file.write_text(text.rstrip("\n") + "\n" + entry, encoding="utf-8")
        changes.append(f"book/chapters.yml: chapter '{study_id}' ({template})")
        chapters[study_id] = {"parameters": {"study_id": study_id}}
    toc_file = book_root / "_toc.yml"
    if _add_to_toc(toc_file, study_id, _study_chapters(chapters)):
        changes.append(f"_toc.yml: book/chapters/{study_id}")
    return changes


def _add_to_toc(toc_file: Path, chapter: str, study_chapters: list[str]) -> bool:
    """Insert ``- file: book/chapters/<chapter>`` after the last study chapter listed (or at the
    end of the first part); False when it is listed already."""
    lines = toc_file.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = re.compile(r"^(\s*)- file: book/chapters/([a-z0-9_]+)\s*$")
    listed = [(i, m) for i, line in enumerate(lines) if (m := entry.match(line))]
    if any(m.group(2) == chapter for _, m in listed):
        return False
    studies = [(i, m) for i, m in listed if m.group(2) in study_chapters and m.group(2) != chapter]
    if studies:
        i, m = studies[-1]
    elif listed:
        i, m = listed[-1]
    else:
        raise ParameterError(
            f"{toc_file.name}: no '- file: book/chapters/…' entry to place the chapter beside"
        )
    lines.insert(i + 1, f"{m.group(1)}- file: book/chapters/{chapter}\n")
    toc_file.write_text("".join(lines), encoding="utf-8")
    return True


def new_study(study_id: str, data_dir: Path, book_root: Path) -> list[str]:
    """Scaffold ``data_dir/ID`` when absent, else register it; lines saying what was done."""
    check_id(study_id)
    folder = Path(data_dir) / study_id
    if not folder.exists():
        files = scaffold(study_id, data_dir)
        return [
            f"created {folder} with {', '.join(p.name for p in files)}",
            "fill in what the paper printed (format: data/README.md; delete tables it does not print), "
            f"check it with `python -m reanalysis validate {study_id}`, "
            f"then run `python -m reanalysis new-study {study_id}` again to add its chapter",
        ]
    changes = register(study_id, data_dir, book_root)
    if not changes:
        return [f"{study_id}: already registered (book/chapters.yml and _toc.yml); nothing changed"]
    return [
        *changes,
        "build it with `python -m reanalysis build` (only this chapter and the cross-study ones run)",
    ]
