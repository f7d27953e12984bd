"""Hostile text for a copy of a study: script and markup payloads in every free-text field.

Used by ``tests/test_hostile.py`` (the HTML and Markdown the package emits) and
``tests/browser/test_hostile_site.py`` (a site built on the payloads, opened in Chromium).
Each payload calls ``alert(<n>)`` with a number of its own, so a dialog names its field; the
``{download}`` role and ``{include}`` directive point at ``secret`` (a file outside the
repository holding :data:`TOKEN`), which must never reach the site.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import yaml

TOKEN = "HOSTILE-SECRET-7f3a9c"  # the secret file's content: must appear nowhere in the site
_counter = itertools.count(1)


def payload(secret: Path, multiline: bool = True, short: bool = False) -> str:
    """One field's payload: raw HTML, a script, a MyST role and (multi-line) a directive;
    ``short`` for text drawn in figures (arm labels, terms), where length breaks the layout."""
    n = next(_counter)
    if short:
        return f"<img src=x onerror=alert({n})>{{download}}`../../../{secret.name}`"
    text = (
        f"<img src=x onerror=alert({n})> <script>alert({n})</script> "
        f"<a href=javascript:alert({n})>x</a> "
        f"{{download}}`../../../{secret.name}` [x](javascript:alert({n})) *em* `code` | pipe"
    )
    if multiline:
        text += f"\n\n```{{include}} {secret}\n```\n\n:::{{include}} {secret}\n:::\n"
    return text


def plant(folder: Path, secret: Path) -> None:
    """Put payloads in every free-text field of the study in ``folder`` (ids, keys, arm ids,
    numbers and the criteria the chapter resolves are left alone, so the chapter still runs);
    ``secret`` is written with :data:`TOKEN`, and a symlink to it joins the study's folder."""
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    path = folder / "study.yml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("short_title", "design", "period", "source", "journal", "ae_grading"):
        meta[key] = f"{meta.get(key) or key} " + payload(secret, multiline=False)
    meta["citation"] = f"{meta.get('citation') or 'citation'} " + payload(secret)
    # a DOI is checked at load (10.<registrant>/<suffix>, no space, quote or angle bracket) and
    # becomes a link: plant what still passes, an attribute break-out and a MyST role
    meta["doi"] = "10.1234/x'onmouseover=alert(7)//{download}`../../../../" + secret.name + "`"
    for arm in meta["arms"]:
        arm["label"] = f"{arm['label']} " + payload(secret, short=True)
    meta["tests_named"] = {k: f"{v} " + payload(secret) for k, v in (meta.get("tests_named") or {}).items()}
    for claim in meta.get("printed_claims") or []:
        claim["text"] = f"{claim.get('text', '')} " + payload(secret)
    path.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    text_columns = ("variable", "level", "term", "subgroup", "test_named", "source")
    for csv in sorted(folder.glob("*.csv")):
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        for col in (c for c in text_columns if c in df.columns):
            hostile = payload(secret, short=col in ("term", "subgroup"))
            df[col] = [f"{v} {hostile}" if v else v for v in df[col]]
        df.to_csv(csv, index=False, lineterminator="\n")
    (folder / "notes.csv").symlink_to(secret)
    (folder / ".private-notes.txt").write_text(TOKEN + "\n", encoding="utf-8")
    (folder / "study.yml~").write_text(TOKEN + "\n", encoding="utf-8")
