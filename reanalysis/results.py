"""Each study's results computed once: a workflow artefact every page reads.

The workflow's ``results`` rule runs :func:`write_results` for every study, writing
``_build/results/<study>/checks.json``: the study's records (its checks and the survival
reconstruction's verdicts) and the reconstructions behind them (each endpoint's printed inputs,
its central pseudo patient-level data: reconstructed from printed aggregates, never a patient's
row, and its printed-vs-reconstructed rows), under a key made of the study's data files, the
package's files and the options that change a verdict. Readers (:func:`study_result`: the study's
chapter; :func:`study_checks`: the overview, the audit chapter and ``python -m reanalysis
audit``) use the artefact only when its key is the one they would compute now, and otherwise
compute the result themselves: a stale or foreign file is never read as current. Any job on any
node reads the same file: no in-process state is shared.

The per-study computation sits behind one function, :func:`reanalysis.recon_checks.study_result`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import pandas as pd

from . import digest
from . import findings as F
from .checks import Check, Severity, Status, frame_row, to_frame
from .checks.record import FIELDS
from .data import (
    DATA_DIR,
    REPO_ROOT,
    Study,
    code_digest,
    load_study,
    load_study_meta,
    refuse_links,
    study_meaning,
)
from .pseudo import Endpoint, ReconKind, ReconRow
from .recon_checks import Reconstruction, StudyOptions, StudyResult
from .recon_checks import study_result as _study_result
from .writing import write_whole

RESULTS = REPO_ROOT / "_build" / "results"
FORMAT = 3  # the artefact's layout; a reader ignores any other (1: records only; 2: no findings)
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}  # JSON has no such numbers


def compute(study_id: str, options: StudyOptions) -> StudyResult:
    """A study's result computed here and now (:func:`reanalysis.recon_checks.study_result`)."""
    study = load_study(study_id)
    return _study_result(study, options.for_study(study))


def study_records(study_id: str, options: StudyOptions) -> list[Check]:
    """Every record of one study (its checks and the survival reconstruction's verdicts),
    computed here and now."""
    return list(compute(study_id, options).records)


def artefact_path(study_id: str) -> Path:
    """Where the workflow keeps a study's results: ``_build/results/<study>/checks.json``."""
    return RESULTS / study_id / "checks.json"


def content_key(study_id: str, options: StudyOptions) -> str:
    """SHA-256 of what the records depend on: the study's data files (names and bytes), the
    package's files (source and rules, :func:`reanalysis.data.code_digest`) and the options.

    Reads only ``study.yml`` besides the bytes: the criterion's name is in the metadata, and an
    artefact under this key was written from these bytes after they passed validation. (Loading
    the tables here cost each cross-study chapter about 1.6 s at 64 studies.)"""
    refuse_links(Path(DATA_DIR) / study_id)  # an artefact is never current for a linked file
    options = options.for_study(load_study_meta(study_id))  # "mRECIST" or the study's own name: one key
    h = hashlib.sha256(json.dumps(dataclasses.asdict(options), sort_keys=True).encode())
    h.update(f"package\0{code_digest()}\0".encode())  # severity rules decide a record's grade
    folder = Path(DATA_DIR) / study_id
    for path in sorted(p for p in folder.glob("**/*") if p.is_file()):
        h.update(f"data/{path.relative_to(folder).as_posix()}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _python(value: object) -> object:
    """A numpy scalar as the Python number it holds; anything else unchanged."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)):
        return value.item()
    return value


def _plain(value: object) -> object:
    """A field of a record or row as JSON holds it: tuples as lists, non-finite floats as
    'inf'/'-inf'/'nan' (read back only into number fields), enums as their value."""
    if isinstance(value, Enum):
        return value.value
    value = _python(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'inf', '-inf', 'nan'
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _number(value: object) -> object:
    return NON_FINITE[value] if isinstance(value, str) and value in NON_FINITE else value


def _to_json(check: Check) -> dict[str, object]:
    return {f.name: _plain(getattr(check, f.name)) for f in dataclasses.fields(Check)}


_CHECK_NUMBERS = frozenset(f.name for f in dataclasses.fields(Check) if "float" in str(f.type))


def _json_values(row: dict[str, object]) -> dict[str, object]:
    """A record's fields as :func:`_to_json` wrote them, with their tuples and non-finite
    numbers back. (A cross-study chapter reads some 16,000 records at 64 studies: which fields
    hold numbers is worked out once, not per record.)"""
    values = dict(row)
    for name, v in row.items():
        if isinstance(v, list):
            values[name] = tuple(v)
        elif isinstance(v, str) and name in _CHECK_NUMBERS and v in NON_FINITE:
            values[name] = NON_FINITE[v]
    return values


def _from_json(row: dict[str, object]) -> Check:
    """A record as :func:`_to_json` wrote it."""
    values = _json_values(row)
    if values.get("severity"):
        values["severity"] = Severity(values["severity"])
    return Check(**values)  # type: ignore[arg-type]


def _tagged(value: object) -> object:
    """Any nested value of an endpoint's inputs as JSON, exactly: dict keys keep their type and
    order (``{"d": [[k, v], ...]}``), tuples stay tuples (``{"t": [...]}``), a non-finite number
    is ``{"f": "nan"}`` (never confused with a text such as an arm id "nan")."""
    value = _python(value)
    if isinstance(value, float) and not math.isfinite(value):
        return {"f": repr(value)}
    if isinstance(value, dict):
        return {"d": [[_tagged(k), _tagged(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"t": [_tagged(v) for v in value]}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    return value


def _untagged(value: object) -> object:
    if isinstance(value, dict) and "d" in value:
        return {_untagged(k): _untagged(v) for k, v in value["d"]}  # type: ignore[misc]
    if isinstance(value, dict) and "t" in value:
        return tuple(_untagged(v) for v in value["t"])
    if isinstance(value, dict) and "f" in value:
        return NON_FINITE[value["f"]]
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


def _endpoint_json(ep: Endpoint) -> dict[str, object]:
    return {f.name: _tagged(getattr(ep, f.name)) for f in dataclasses.fields(Endpoint)}


def _endpoint(row: dict[str, Any]) -> Endpoint:
    return Endpoint(**{k: _untagged(v) for k, v in row.items()})  # type: ignore[arg-type]


def _frame_json(frame: pd.DataFrame) -> dict[str, object]:
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "data": [_plain(frame[c].tolist()) for c in frame.columns],
    }


def _frame(row: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(values if dtype == "object" else [_number(x) for x in values], dtype=dtype)
            for c, dtype, values in zip(row["columns"], row["dtypes"], row["data"], strict=True)
        }
    )


def _row_json(row: ReconRow) -> dict[str, object]:
    return {f.name: _plain(getattr(row, f.name)) for f in dataclasses.fields(ReconRow)}


_ROW_NUMBERS = {f.name for f in dataclasses.fields(ReconRow) if "float" in str(f.type)}


def _row(values: dict[str, Any]) -> ReconRow:
    out = {k: _number(v) if k in _ROW_NUMBERS else v for k, v in values.items()}
    return ReconRow(**{**out, "kind": ReconKind(out["kind"]), "status": Status(out["status"])})


def overview_findings(study: Study, records: Iterable[Check], options: StudyOptions) -> list[F.Finding]:
    """The study's main outcomes with their verdicts as the overview shows them: the options'
    criterion (as the study names it) and alpha, the default interval for rates."""
    criterion = options.for_study(study).criterion
    return F.findings(study, to_frame(records), criterion, alpha=options.checks.alpha)


def _finding_json(f: F.Finding) -> dict[str, object]:
    v = f.verdict
    printed = [[arm, text] for arm, text in f.printed.items()]  # pairs: the arms' order kept
    return {"outcome": f.outcome, "printed": printed, "effect": f.effect,
            "status": v.status.value, "severity": v.severity, "reason": v.reason}  # fmt: skip


def _finding(row: dict[str, Any]) -> F.Finding:
    verdict = F.Verdict(Status(row["status"]), row["severity"], row["reason"])
    return F.Finding(row["outcome"], {arm: text for arm, text in row["printed"]}, row["effect"], verdict)


def _payload(study: Study, options: StudyOptions, result: StudyResult) -> dict[str, object]:
    return {
        "format": FORMAT,
        "study": study.id,
        "options": dataclasses.asdict(options.for_study(study)),
        "records": [_to_json(c) for c in result.records],
        # the overview's rows of this study: worked out here, once per change of the study,
        # rather than for every study whenever any study changes (~50 ms a study)
        "findings": [_finding_json(f) for f in overview_findings(study, result.records, options)],
        "reconstructions": [
            {
                "endpoint": _endpoint_json(r.endpoint),
                "ipd": _frame_json(r.ipd),
                "rows": [_row_json(x) for x in r.rows],
            }
            for r in result.reconstructions
        ],
        "skipped": list(result.skipped),
    }


def meaning(study: Study, options: StudyOptions) -> str:
    """SHA-256 of what the result is computed from: what the study says as loaded (its values
    and tables, not its files' bytes: a comment or a file's layout is not in it;
    :func:`reanalysis.data.study_meaning`), the options and the package's code. The artefact's
    ``key`` (:func:`content_key`) is over the files' bytes instead, so that a reader can check it
    without loading the study."""
    options = options.for_study(study)
    said = study_meaning(study.id, study.folder.parent if study.folder is not None else None)
    return digest.of("study result", FORMAT, code_digest(), dataclasses.asdict(options), said)


def write_results(study_id: str, options: StudyOptions | None = None) -> Path:
    """Compute a study's result and write it, keyed, atomically; the same inputs give the
    same bytes (no time, path or machine in the file).

    When the study's files changed but what they say did not (the previous artefact's
    :func:`meaning` is this one's: a comment, a file's layout), the previous result is written
    again under the new key instead of computed again: it is the result computing would give,
    at a fraction of the cost (the reconstruction's replicates are most of a study's time)."""
    options = options or StudyOptions()
    study = load_study(study_id)
    said = meaning(study, options)
    payload = _previous(study_id, said)
    if payload is None:
        payload = _payload(study, options, _study_result(study, options.for_study(study)))
    payload |= {"key": content_key(study_id, options), "meaning": said}
    path = artefact_path(study_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=0, sort_keys=True, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    # first under a second name, which the workflow does not remove before the study's next run
    # (Snakemake removes a job's outputs first): what _previous reads
    write_whole(kept_path(study_id), data)
    write_whole(path, data)
    return path


def kept_path(study_id: str) -> Path:
    """The study's last artefact under a name that is not the workflow's output: the result
    its next run may write again (:func:`write_results`)."""
    return artefact_path(study_id).with_name("kept.json")


def _previous(study_id: str, said: str) -> dict[str, Any] | None:
    """The study's last artefact (:func:`kept_path`) when it holds the result of what the study
    says now (this layout, the same :func:`meaning`), whatever its key, else None."""
    try:
        payload = json.loads(kept_path(study_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(payload, dict) and payload.get("format") == FORMAT and payload.get("meaning") == said
    return payload if ok else None


def _current(study_id: str, options: StudyOptions) -> dict[str, Any] | None:
    """The study's artefact when it is current (this layout, same key), else None."""
    path = artefact_path(study_id)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return None
    if payload.get("key") != content_key(study_id, options):
        return None
    return payload


def cached_records(study_id: str, options: StudyOptions) -> list[Check] | None:
    """The records of the study's artefact when it is current (same key), else None."""
    payload = _current(study_id, options)
    return None if payload is None else [_from_json(row) for row in payload["records"]]


def cached_result(study_id: str, options: StudyOptions) -> StudyResult | None:
    """The study's whole result (records and reconstructions) from its artefact when current."""
    payload = _current(study_id, options)
    if payload is None:
        return None
    return StudyResult(
        tuple(_from_json(row) for row in payload["records"]),
        tuple(
            Reconstruction(_endpoint(r["endpoint"]), _frame(r["ipd"]), tuple(_row(x) for x in r["rows"]))
            for r in payload["reconstructions"]
        ),
        tuple(payload["skipped"]),
    )


def study_findings(study_id: str, options: StudyOptions | None = None) -> list[F.Finding]:
    """A study's main outcomes as the overview shows them (:func:`overview_findings`): from its
    artefact when current, else worked out here and now."""
    options = options or StudyOptions()
    payload = _current(study_id, options)
    if payload is not None:
        return [_finding(row) for row in payload["findings"]]
    return overview_findings(load_study(study_id), study_records(study_id, options), options)


def _row_from_json(row: dict[str, object]) -> dict[str, object]:
    """A record as :func:`_to_json` wrote it, as the row :func:`reanalysis.checks.frame_row`
    makes of it: :func:`_from_json` then ``frame_row`` without the record in between (a record
    built and taken apart again was two thirds of reading 16,000 at 64 studies)."""
    values = _json_values(row)
    out = {name: values[name] for name in FIELDS}  # frame_row's order
    out["arm"] = out["arm"] or ""  # as Check.__post_init__ (the record was written from a Check)
    out["severity"] = out["severity"] or ""
    return out


def study_rows(study_id: str, options: StudyOptions | None = None) -> list[dict[str, object]]:
    """A study's records as rows of a check table (:func:`reanalysis.checks.rows_frame`): from
    its artefact when current, else computed here and now. What the cross-study chapters read."""
    options = options or StudyOptions()
    payload = _current(study_id, options)
    if payload is None:
        return [frame_row(c) for c in study_records(study_id, options)]
    return [_row_from_json(row) for row in payload["records"]]


def study_checks(study_id: str, options: StudyOptions | None = None) -> list[Check]:
    """A study's records: from its artefact when current, else computed here and now."""
    options = options or StudyOptions()
    cached = cached_records(study_id, options)
    return cached if cached is not None else study_records(study_id, options)


def study_result(study_id: str, options: StudyOptions | None = None) -> StudyResult:
    """A study's result (what its chapter shows): from its artefact when current, else computed
    here and now."""
    options = options or StudyOptions()
    cached = cached_result(study_id, options)
    return cached if cached is not None else compute(study_id, options)
