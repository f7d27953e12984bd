"""A content hash of everything a build reads, so an unchanged book skips the workflow.

Stdlib only: ``python -m reanalysis build`` checks it before importing anything heavy, and a
no-change rebuild returns in well under a second. Snakemake remains the judge of *what* to
re-run when something did change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = (
    "reanalysis/*.py",
    "reanalysis/**/*.py",
    "book/templates/*.ipynb",
    "book/chapters/*.ipynb",
    "book/chapters/downloads/**/*",
    "book/*.md",
    "book/*.yml",
    "book/*.png",
    "book/_ext/*.py",
    "data/**/*",
    "_config.yml",
    "_toc.yml",
    "Snakefile",
    "requirements.txt",
)
STAMP = ROOT / "_build" / ".stamps" / "manifest"


def digest(overrides: dict | None = None) -> str:
    """SHA-256 over the inputs' paths and bytes, and the parameter overrides."""
    h = hashlib.sha256(json.dumps(overrides or {}, sort_keys=True).encode())
    files = sorted({p for pattern in INPUTS for p in ROOT.glob(pattern) if p.is_file()})
    for p in files:
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def unchanged(overrides: dict | None = None) -> bool:
    """True when the last successful build read exactly these inputs and its site is there."""
    site = ROOT / "_build" / "html" / "index.html"
    return site.is_file() and STAMP.is_file() and STAMP.read_text().strip() == digest(overrides)


def record(overrides: dict | None = None) -> None:
    """Remember the inputs of a build that just succeeded."""
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(digest(overrides) + "\n")
