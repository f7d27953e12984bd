"""Each study's results computed once: a workflow artefact the cross-study pages read.

The workflow's ``results`` rule runs :func:`write_results` for every study, writing
``_build/results/<study>/checks.json``: the study's records (its checks and the survival
reconstruction's verdicts: printed vs recomputed aggregates, no patient rows) under a key made
of the study's data files, the package's files and the options that change a verdict. Readers
(:func:`study_checks`: the overview, the audit chapter and ``python -m reanalysis audit``) use
the artefact only when its key is the one they would compute now, and otherwise compute the
records themselves: a stale or foreign file is never read as current. Any job on any node reads
the same file: no in-process state is shared.

The per-study computation sits behind one function, :func:`study_records`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

from .checks import Check, Severity
from .data import DATA_DIR, REPO_ROOT, load_study
from .recon_checks import StudyOptions
from .recon_checks import study_records as _study_records

RESULTS = REPO_ROOT / "_build" / "results"
PACKAGE = REPO_ROOT / "reanalysis"
FORMAT = 1  # the artefact's layout; a reader ignores any other
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}  # JSON has no such numbers


def study_records(study_id: str, options: StudyOptions) -> list[Check]:
    """Every record of one study (its checks and the survival reconstruction's verdicts,
    :func:`reanalysis.recon_checks.study_records`): the one per-study computation the artefact
    caches."""
    return _study_records(load_study(study_id), options)


def artefact_path(study_id: str) -> Path:
    """Where the workflow keeps a study's results: ``_build/results/<study>/checks.json``."""
    return RESULTS / study_id / "checks.json"


def content_key(study_id: str, options: StudyOptions) -> str:
    """SHA-256 of what the records depend on: the study's data files (names and bytes), the
    package's files (source and rules) and the options."""
    h = hashlib.sha256(json.dumps(dataclasses.asdict(options), sort_keys=True).encode())
    folder = Path(DATA_DIR) / study_id
    for root, label in ((folder, "data"), (PACKAGE, "package")):
        # the package: its source and its rules (severity rules decide a record's grade)
        files = (p for p in root.glob("**/*") if p.is_file() and "__pycache__" not in p.parts)
        for path in sorted(files):
            h.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf', '-inf', 'nan'
    if isinstance(value, tuple):
        return list(value)
    return value


def _to_json(check: Check) -> dict[str, object]:
    return {f.name: _plain(getattr(check, f.name)) for f in dataclasses.fields(Check)}


def _from_json(row: dict[str, object]) -> Check:
    values = dict(row)
    for f in dataclasses.fields(Check):
        v = values.get(f.name)
        if isinstance(v, list):
            values[f.name] = tuple(v)
        elif isinstance(v, str) and v in NON_FINITE and "float" in str(f.type):
            values[f.name] = NON_FINITE[v]
    if values.get("severity"):
        values["severity"] = Severity(values["severity"])
    return Check(**values)  # type: ignore[arg-type]


def write_results(study_id: str, options: StudyOptions | None = None) -> Path:
    """Compute a study's records and write them, keyed, atomically; the same inputs give the
    same bytes (no time, path or machine in the file)."""
    options = options or StudyOptions()
    payload = {
        "format": FORMAT,
        "study": study_id,
        "key": content_key(study_id, options),
        "options": dataclasses.asdict(options),
        "records": [_to_json(c) for c in study_records(study_id, options)],
    }
    path = artefact_path(study_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checks.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=0, sort_keys=True, allow_nan=False)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp's file is private; the artefact is read by every job
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cached_records(study_id: str, options: StudyOptions) -> list[Check] | None:
    """The records of the study's artefact when it is current (same key), else None."""
    path = artefact_path(study_id)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return None
    if payload.get("key") != content_key(study_id, options):
        return None
    return [_from_json(row) for row in payload["records"]]


def study_checks(study_id: str, options: StudyOptions | None = None) -> list[Check]:
    """A study's records: from its artefact when current, else computed here and now."""
    options = options or StudyOptions()
    cached = cached_records(study_id, options)
    return cached if cached is not None else study_records(study_id, options)
