"""The glossary as data: the page is rendered from reanalysis/rules/glossary.yml, and a chapter's generated
prose spells out each abbreviation the first time it uses it."""

from __future__ import annotations

from pathlib import Path

from reanalysis import glossary

ROOT = Path(__file__).resolve().parents[1]


def test_glossary_page_is_rendered_from_its_data():
    page = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    assert page == glossary.markdown(), (
        "book/glossary.md is stale: python -m reanalysis glossary > book/glossary.md"
    )


def test_each_abbreviation_is_spelled_out_once_per_chapter(tmp_path):
    data = tmp_path / "glossary.yml"
    data.write_text(
        "- term: OS, PFS\n  expand: {OS: overall survival, PFS: progression-free survival}\n"
        "  definition: Overall survival and progression-free survival.\n"
        "- term: IO + T\n  expand: {IO + T: immunotherapy plus targeted therapy}\n  definition: x\n",
        encoding="utf-8",
    )
    chapter = glossary.FirstUse(path=data)
    assert chapter.expand("median PFS 12.6 months; PFS HR 0.51") == (
        "median progression-free survival (PFS) 12.6 months; PFS HR 0.51"
    )
    assert chapter.expand("PFS and OS") == "PFS and overall survival (OS)"  # PFS seen already
    # not inside a longer word, a dotted or hyphenated name, or a combination such as an arm name
    other = glossary.FirstUse(path=data)
    assert other.expand("DOSE; mPFS; PFS-2; RT + IO + T 29") == "DOSE; mPFS; PFS-2; RT + IO + T 29"
    assert other.expand("IO + T 42") == "immunotherapy plus targeted therapy (IO + T) 42"
    # a text that spells it out itself is left as it is, and counts as the first use
    third = glossary.FirstUse(path=data)
    assert third.expand("overall survival (OS)") == "overall survival (OS)"
    assert third.expand("OS") == "OS"
    # an abbreviation in parentheses qualifies the word before it; an expansion is not expanded
    data.write_text(
        "- term: DCR\n  expand: {DCR: disease control rate}\n  definition: x\n"
        "- term: mRECIST\n  expand: {mRECIST: modified RECIST}\n  definition: x\n"
        "- term: RECIST\n  expand: {RECIST: Response Evaluation Criteria}\n  definition: x\n",
        encoding="utf-8",
    )
    glossary.entries.cache_clear()
    fourth = glossary.FirstUse(path=data)
    assert fourth.expand("DCR (mRECIST) (major); mRECIST") == (
        "disease control rate (DCR) (mRECIST) (major); modified RECIST (mRECIST)"
    )
    glossary.entries.cache_clear()
    data.write_text("- term: OS\n  expand: {OS: overall survival}\n  definition: x\n", encoding="utf-8")
    # a new chapter starts again
    assert glossary.FirstUse(path=data).expand("OS") == "overall survival (OS)"
