"""Load and validate a study's extracted data (``data/<study>/``).

Every CSV is read as text first so that printed digits survive (``94.60`` stays ``94.60``),
then validated and typed by the pandera schemas in :mod:`reanalysis.schema`. Any violation
raises :class:`~reanalysis.errors.DataError` naming file, CSV line and column.

:func:`load_study` is memoised on the folder and the content of its files (validation is the
slow part, and the synthesis chapter loads every study several times): an edited file is
re-read, and every call returns its own copy, so no caller can change another's study.

Across processes, a study whose exact bytes already passed validation under this exact code is
read back as validated (content-addressed in ``_build/validated/``, written only after a full
validation): in a book of 64 studies each cross-study chapter would otherwise spend about 15 s
re-validating, and 2.5 s re-reading, data the workflow validated once. Any changed byte of the
study or of the package means a new address, hence full validation and its messages.
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import io
import os
import pickle
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .errors import DataError, ParameterError
from .schema import TABLE_ORDER, TABLES, UNIQUE, table_schema
from .textnumbers import ARM_N, number_term, split_terms
from .vocabulary import AE_ATTRIBUTIONS, DOI_PATTERN, SOURCE_KINDS
from .writing import write_aside

# pandas and pandera are imported where tables are read: `build` and Snakemake's process import
# this module for its paths and the studies' metadata only, and start 0.7 s sooner without them
if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

NOT_STATED = "not stated"  # the response criterion of a study that does not name one
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("REANALYSIS_DATA", REPO_ROOT / "data"))
FORMAT_NOTES = "README.md"  # data/'s format notes, which every study's zip carries (downloads.study_zip)
META_REQUIRED = ("id", "short_title", "citation", "design", "source", "arms")
STUDY_ID_RE = re.compile(r"[a-z0-9_]+")


def study_id_problem(study_id: object) -> str | None:
    """Why ``study_id`` is not a study id (an identifier naming a folder of data/, never a
    path), or None when it is one."""
    if isinstance(study_id, str) and STUDY_ID_RE.fullmatch(study_id):
        return None
    return f"{study_id!r} is not a study id (lowercase letters, digits and '_' only; never a path)"


def require_study_id(study_id: object, parameter: str = "study_id") -> str:
    """``study_id`` if it is an identifier; a ParameterError naming ``parameter`` otherwise."""
    problem = study_id_problem(study_id)
    if problem:
        raise ParameterError(f"{parameter}: {problem}")
    return str(study_id)


@dataclass(frozen=True)
class Arm:
    """One treatment arm as the paper defines it."""

    id: str
    label: str
    n: int | None  # None when the paper does not print the arm's size (e.g. an abstract)
    contains_rt: bool = False
    short_label: str = ""  # optional (study.yml ``short_label``): for figure legends

    @property
    def short(self) -> str:
        """The label figures use: the short label when the study gives one, else the label."""
        return self.short_label or self.label


@dataclass
class Study:
    """A study's metadata and its validated tables (empty frame when a table is absent)."""

    id: str
    meta: dict
    arms: list[Arm]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # where the study was read from, not what it says: neither a figure drawn from it nor its
    # results depend on it (reanalysis.digest)
    folder: Path | None = field(default=None, metadata={"content": False})

    def arm(self, arm_id: str) -> Arm:
        return next(a for a in self.arms if a.id == arm_id)

    @property
    def arm_sizes(self) -> dict[str, int]:
        """Arm id → N, for the arms whose size is printed."""
        return {a.id: a.n for a in self.arms if a.n is not None}

    @property
    def source_kind(self) -> str:
        """What the source is (``study.yml`` ``source_kind``; a full text unless it says so)."""
        return str(self.meta.get("source_kind") or SOURCE_KINDS[0])

    @property
    def doi_url(self) -> str | None:
        """The DOI as a link target (validated at load), or None when the source gives none."""
        from urllib.parse import quote

        doi = self.meta.get("doi")
        return f"https://doi.org/{quote(str(doi), safe='/:;()._-')}" if doi else None

    @property
    def is_two_arm(self) -> bool:
        return bool(self.meta.get("comparison"))

    @property
    def comparison(self) -> tuple[str, str]:
        """The two arms compared (effect = first vs second); a single-arm study has none."""
        if not self.is_two_arm:
            raise ValueError(f"study '{self.id}' is single-arm: it has no comparison")
        a, b = self.meta["comparison"]
        return a, b

    @property
    def criteria(self) -> list[str]:
        return list(self.meta.get("response_criteria") or [])

    def match_criterion(self, value: str) -> str | None:
        """The study's name for response criterion ``value``, or None when it does not report it.

        Case and spaces do not matter, and ``RECIST`` names ``RECIST 1.1`` (``mRECIST`` stays
        another criterion), so ``RECIST``, ``recist 1.1`` and ``mRECIST`` all work.
        """
        wanted = _criterion_key(value)
        for c in self.criteria:
            key = _criterion_key(c)
            if wanted and wanted in (key, key.split("1.1")[0]):
                return c
        return None

    def resolve_criterion(self, value: str, parameter: str = "criterion") -> str:
        """The study's name for ``value``; a ParameterError naming ``parameter`` and the study's
        criteria when it does not report it, so no section silently shows another criterion.

        A study that names no criterion (none listed, or only "not stated") accepts the default
        criterion of :mod:`reanalysis.params` (and "not stated"): its responses are the printed
        ones, labelled "not stated", so every chapter runs with the defaults.
        """
        found = self.match_criterion(value)
        if found is not None:
            return found
        from .params import DEFAULT_CRITERION

        if not [c for c in self.criteria if _criterion_key(c) != _criterion_key(NOT_STATED)]:
            if _criterion_key(value) in (_criterion_key(DEFAULT_CRITERION), _criterion_key(NOT_STATED)):
                return self.criteria[0] if self.criteria else NOT_STATED
            raise ParameterError(
                f"parameter '{parameter}': study '{self.id}' does not state its response criterion, "
                f"so {value!r} cannot be chosen (leave '{parameter}' at its default, {DEFAULT_CRITERION})"
            )
        raise ParameterError(
            f"parameter '{parameter}': {value!r} is not a response criterion of study '{self.id}' "
            f"(it reports {', '.join(self.criteria)}; RECIST stands for RECIST 1.1)"
        )

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.tables[table]


def _criterion_key(name: str) -> str:
    return str(name).strip().lower().replace(" ", "")


def require_criterion(studies: list[Study], criterion: str, parameter: str = "criterion") -> None:
    """Refuse a criterion that none of ``studies`` reports: pooling it would pool nothing."""
    if not any(st.match_criterion(criterion) for st in studies):
        reported = ", ".join(dict.fromkeys(c for st in studies for c in st.criteria)) or "none"
        raise ParameterError(
            f"parameter '{parameter}': no included study reports {criterion!r} "
            f"(they report: {reported}; RECIST stands for RECIST 1.1)"
        )


def study_file(study: Study, name: str) -> str:
    """How messages name one of a study's files (relative to the repository when inside it)."""
    return _rel(study.folder / name) if study.folder is not None else f"{study.id}/{name}"


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


KNOWN_FILES = ("study.yml", *(f"{t}.csv" for t in TABLE_ORDER))


def study_files(folder: Path) -> list[Path]:
    """The study's own files: ``study.yml`` and the known table CSVs, regular files only (never
    a symlink, hidden file, backup or note), sorted. What is read, hashed and published."""
    return [
        folder / name
        for name in sorted(KNOWN_FILES)
        if (folder / name).is_file() and not (folder / name).is_symlink()
    ]


def unknown_files(folder: Path) -> list[str]:
    """Entries of a study folder that are not its own files (e.g. a misnamed ``pvaluess.csv``,
    an editor backup, a symlink): never read, never published; ``validate`` warns about them."""
    own = {p.name for p in study_files(folder)}
    return sorted(p.name for p in folder.iterdir() if p.name not in own) if folder.is_dir() else []


def list_studies(data_dir: Path | None = None) -> list[str]:
    """Study ids with a ``study.yml``, sorted."""
    root = Path(data_dir or DATA_DIR)
    return sorted(p.parent.name for p in root.glob("*/study.yml"))


def safe_yaml(text: str) -> object:
    """``yaml.safe_load`` through libyaml's parser when PyYAML has it (a tenth of the time; the
    same safe constructor builds the values). On an error the pure-Python parser reads it again,
    so messages name the problem as they always did."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - CSafeLoader is the safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def load_meta(folder: Path) -> tuple[dict, list[Arm]]:
    """Read and check ``study.yml`` (the caller gets its own copy of the metadata)."""
    path = folder / "study.yml"
    name = _rel(path)
    if not path.is_file():
        raise DataError(name, "missing metadata file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(name, f"not readable ({exc.strerror})") from None
    meta, arms = _checked_meta(name, folder.name, data)
    return copy.deepcopy(meta), list(arms)


@functools.lru_cache(maxsize=1024)
def _checked_meta(name: str, folder_name: str, data: bytes) -> tuple[dict, tuple[Arm, ...]]:
    """``study.yml``'s bytes parsed and checked, once per content: a build asks for a study's
    metadata many times (each chapter's parameters, each artefact's key, the audit's names: at
    64 studies some 400 parses of about a millisecond in one page). Errors are not kept."""
    try:
        meta = safe_yaml(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(name, f"not readable as UTF-8 YAML ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(meta, dict):
        raise DataError(name, "must be a mapping")
    for key in META_REQUIRED:
        if key not in meta:
            raise DataError(name, f"missing field '{key}'", column=key)
    arms: list[Arm] = []
    for i, a in enumerate(meta["arms"] or []):
        try:
            n = None if a.get("n") is None else int(a["n"])
            if n is not None and (n <= 0 or n != a["n"]):
                raise ValueError
            short = str(a.get("short_label") or "")
            arms.append(Arm(str(a["id"]), str(a["label"]), n, bool(a.get("contains_rt", False)), short))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DataError(
                name, f"arm {i + 1} needs an id, a label and a positive integer n (or null)", column="arms"
            ) from None
    ids = [a.id for a in arms]
    if len(set(ids)) != len(ids) or not arms:
        raise DataError(name, "arm ids must be present and unique", column="arms")
    comp = meta.get("comparison")
    if comp is not None and not (isinstance(comp, list) and len(comp) == 2 and all(c in ids for c in comp)):
        raise DataError(
            name, f"comparison must name two declared arms ({', '.join(ids)})", column="comparison"
        )
    if meta["id"] != folder_name:
        raise DataError(name, f"id '{meta['id']}' does not match its folder '{folder_name}'", column="id")
    doi = meta.get("doi")
    if doi is not None and not re.fullmatch(DOI_PATTERN, str(doi)):
        raise DataError(name, f"doi '{doi}' is not a DOI (10.<registrant>/<suffix>) or null", column="doi")
    kind = meta.get("source_kind")
    if kind is not None and kind not in SOURCE_KINDS:
        known = ", ".join(SOURCE_KINDS)
        raise DataError(name, f"source_kind '{kind}' is not one of {known}", column="source_kind")
    if meta.get("patient_analyses") is not None:  # the covariates of its patient-level analyses
        from .patient.covariates import read_analyses

        try:
            read_analyses(meta["patient_analyses"])
        except ValueError as exc:
            field, message = exc.args
            raise DataError(name, message, column=f"patient_analyses{field}") from None
    return meta, tuple(arms)


def load_study_meta(study_id: str, data_dir: Path | str | None = None) -> Study:
    """A study's metadata only (no tables): cheap enough to check parameters before any kernel."""
    folder = Path(data_dir or DATA_DIR) / require_study_id(study_id)
    meta, arms = load_meta(folder)
    return Study(study_id, meta, arms, folder=folder)


class Lines(tuple):
    """The file line of each row of a frame (kept in ``frame.attrs["lines"]``).

    pandas deep-copies ``attrs`` after nearly every operation; a plain list of a few hundred
    numbers made that copy about a fifth of a study's check time. The tuple is immutable, so
    every copy can share it.
    """

    def __deepcopy__(self, memo: dict[int, object]) -> Lines:
        return self


def read_csv_text(path: Path, name: str) -> pd.DataFrame:
    """A CSV as stripped text with empty cells as NaN, so printed digits survive; unreadable,
    empty or non-UTF-8 files raise a DataError naming the file, and so do the usual spreadsheet
    slips (a byte-order mark, spaces or ';' in the header, a row with more fields than the
    header). ``attrs["lines"]`` holds the file line each row starts on (blank lines and cells
    spanning lines counted), for messages."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(name, f"not UTF-8 encoded (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        raise DataError(
            name, "starts with a byte-order mark (Excel's 'CSV UTF-8'): save it as UTF-8 without BOM", row=1
        )
    import numpy as np
    import pandas as pd

    lines = _record_lines(text, name)
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(name, "empty file: expected a header row") from None
    except pd.errors.ParserError as exc:
        raise DataError(name, f"not a valid CSV ({exc})") from None
    if len(raw.columns) == 1 and ";" in str(raw.columns[0]):
        raise DataError(
            name, "the header is separated by ';': the data format uses ',' (export as CSV)", row=1
        )
    padded = [c for c in raw.columns if str(c) != str(c).strip()]
    if padded:
        raise DataError(
            name,
            f"space around the column name {padded[0]!r} in the header (write 'a,b', not 'a, b')",
            row=1,
            column=str(padded[0]).strip(),
        )
    # stripped, empty → NaN; one pass over Python strings (a frame is a few dozen cells: pandas'
    # per-column string methods cost more than the work)
    raw = pd.DataFrame(
        {c: [v.strip() or np.nan for v in raw[c].tolist()] for c in raw.columns},
        index=raw.index,
        columns=raw.columns,
        dtype=object,
    )
    if len(lines) == len(raw):
        raw.attrs["lines"] = Lines(lines)
    return raw


def _record_lines(text: str, name: str) -> list[int]:
    """The line each data record of ``text`` starts on (as pandas reads them: blank lines
    skipped, a quoted cell may span lines); a record with more fields than the header fails."""
    reader = csv.reader(io.StringIO(text))
    starts: list[int] = []
    header: int | None = None
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record:
                continue
            if header is None:
                header = len(record)
                continue
            if len(record) > header:
                raise DataError(
                    name,
                    f"{len(record)} fields but the header has {header}: an unquoted comma "
                    "(a decimal comma such as 94,60 must be quoted or written 94.60) or a trailing comma",
                    row=start,
                )
            starts.append(start)
    except csv.Error as exc:
        raise DataError(name, f"not a valid CSV ({exc})", row=reader.line_num) from None
    return starts


def line_of(frame: pd.DataFrame, index: object) -> int | None:
    """The file line of row ``index`` of a frame read by :func:`read_csv_text`."""
    import pandas as pd

    if index is None or pd.isna(index):
        return None
    lines = frame.attrs.get("lines")
    i = int(index)
    return lines[i] if lines and 0 <= i < len(lines) else i + 2


def read_table(path: Path, table: str, arms: dict[str, int]) -> pd.DataFrame:
    """Read one CSV as text, then validate and type it with its schema."""
    import numpy as np
    import pandera.pandas as pa

    name = _rel(path)
    raw = read_csv_text(path, name)
    missing = [c for c, col in TABLES[table].items() if c not in raw.columns and not col.optional_column]
    if missing:
        raise DataError(name, "missing column", column=missing[0])
    extra = [c for c in raw.columns if c not in TABLES[table]]
    if extra:
        raise DataError(name, "unknown column", column=extra[0])
    for c in TABLES[table]:
        if c not in raw.columns:
            raw[c] = np.nan
    try:
        out = table_schema(table, arms).validate(raw, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _schema_error(name, exc, raw) from None
    out.attrs["lines"] = raw.attrs.get("lines")
    return out


def _schema_error(name: str, exc: pa.errors.SchemaErrors, raw: pd.DataFrame) -> DataError:
    """Turn pandera's failure cases into one message listing file, line and column.

    A dataframe-wide check is named after the column it judges (``n``, ``printed``, …), and
    pandera lists every column of a failing row for it: keep one entry per row and check.
    """
    fc = exc.failure_cases.copy()
    columns = TABLES.get(exc.schema.name, {})
    judged = {c.error: c.name for c in exc.schema.checks}  # error text → the column it judges
    wide = fc["schema_context"] == "DataFrameSchema"
    fc.loc[wide, "column"] = fc.loc[wide, "check"].map(judged)
    fc["order"] = wide.astype(int)  # column checks first, then row-wide ones in declared order
    fc = fc.drop_duplicates(subset=["index", "column", "check"]).sort_values(
        ["order", "check_number"], kind="stable"
    )
    entries = []
    for _, case in fc.iterrows():
        idx = case.get("index")
        row = line_of(raw, idx)
        column = case.get("column") if case.get("column") in columns else None
        value = (
            "" if case.get("schema_context") == "DataFrameSchema" else f" (value: {case.get('failure_case')})"
        )
        check = str(case.get("check"))
        if "uniqueness" in check:
            unique = UNIQUE[exc.schema.name]
            column, check, value = unique[0], f"duplicate {' + '.join(unique)}", ""
        entries.append((row, column, f"{check}{value}"))
    return DataError.from_entries(name, entries)


_LOADED: OrderedDict[Path, tuple[str, Study]] = OrderedDict()  # folder -> (content digest, study)
# a study's tables are a few kB: keep every study of a large book (a bound of 32 made each
# cross-study chapter of a 64-study book load every study twice)
_LOADED_MAX = 1024
VALIDATED = REPO_ROOT / "_build" / "validated"  # studies whose bytes passed validation under this code
_CODE: list[str] = []  # the code's digest, computed once per process


def code_digest() -> str:
    """A digest of the package's files (source and rules) and the pandas and pandera versions:
    what decides validation, and (with the data) a study's results. Computed once a process."""
    if not _CODE:
        h = hashlib.blake2b(digest_size=16)
        h.update(f"pandas {version('pandas')}\0pandera {version('pandera')}\0".encode())
        package = Path(__file__).resolve().parent
        for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            h.update(f"{path.relative_to(package).as_posix()}\0".encode())
            h.update(path.read_bytes())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def _mark(study_id: str, digest: str) -> Path:
    """Where the study as validated from this content (``digest``) under this code is kept
    (:func:`_remembered`). Python's and numpy's versions are in the name: they decide the
    pickle's layout."""
    name = hashlib.blake2b(
        f"{study_id}\0{digest}\0{code_digest()}\0{sys.version_info[:2]}\0{version('numpy')}".encode(),
        digest_size=16,
    ).hexdigest()
    return VALIDATED / name


def _remembered(mark: Path, folder: Path) -> Study | None:
    """The study kept at ``mark`` (its bytes passed validation under this code), or None.

    A pickle, written by :func:`_remember` into the build folder, which only this package
    writes (whoever could write there could as well change the package). Reading it takes about
    2 ms a study; reading and typing the CSVs again about 40 ms, which every cross-study
    chapter paid for every study. Anything unreadable counts as absent: validated again."""
    try:
        study = pickle.loads(mark.read_bytes())
    except Exception:  # absent, truncated or foreign: validate again (and write it anew)
        return None
    if not isinstance(study, Study):
        return None
    study.folder = folder  # the same bytes elsewhere are the same study
    return study


def _remember(mark: Path, study: Study) -> None:
    """Keep the validated study at ``mark`` (:func:`reanalysis.writing.write_aside`)."""
    write_aside(mark, pickle.dumps(replace(study, folder=None), protocol=pickle.HIGHEST_PROTOCOL))


def _digest(folder: Path) -> str:
    """A digest of the names and bytes of the folder's files: changes when any file does."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        data = path.read_bytes()
        h.update(f"{path.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _copy(study: Study) -> Study:
    """A copy sharing nothing mutable with ``study`` (frames, metadata and arm list)."""
    return Study(
        study.id,
        copy.deepcopy(study.meta),
        list(study.arms),
        {name: df.copy(deep=True) for name, df in study.tables.items()},
        study.folder,
    )


def load_study(study_id: str, data_dir: Path | str | None = None) -> Study:
    """Load a study folder: metadata, then every table that exists, all validated.

    Memoised on the resolved folder and the content of its files; each call gets its own copy."""
    root = Path(data_dir or DATA_DIR)
    folder = root / require_study_id(study_id)
    if not folder.is_dir():
        known = ", ".join(list_studies(root)) or "none"
        raise DataError(_rel(folder), f"unknown study '{study_id}' (known: {known})")
    refuse_links(folder)
    key, digest = folder.resolve(), _digest(folder)
    hit = _LOADED.get(key)
    if hit is not None and hit[0] == digest:
        _LOADED.move_to_end(key)
        return _copy(hit[1])
    mark = _mark(study_id, digest)
    study = _remembered(mark, folder)
    if study is None:
        study = _load_study(study_id, folder)
        _remember(mark, study)
    _LOADED[key] = (digest, _copy(study))
    _LOADED.move_to_end(key)
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.popitem(last=False)
    return study


def study_meaning(study_id: str, data_dir: Path | str | None = None) -> str:
    """SHA-256 of what the study says as loaded (:func:`load_study`; :mod:`reanalysis.digest`):
    its values and tables, not its files' bytes, so a comment or a file's layout does not change
    it. Kept beside the validated study (``_build/validated/``), under the same name: one
    study's is worked out once per content and code, in about 20 ms, then read back in well
    under one (a chapter across 64 studies asks for all of them)."""
    from . import digest

    folder = Path(data_dir or DATA_DIR) / require_study_id(study_id)
    if not folder.is_dir():
        load_study(study_id, data_dir)  # says the study is unknown, as loading does
    refuse_links(folder)
    content = _digest(folder)
    kept = _mark(study_id, content).with_suffix(".meaning")
    try:
        said = kept.read_text(encoding="ascii").strip()
    except OSError:
        said = ""
    if re.fullmatch(r"[0-9a-f]{64}", said):
        return said
    study = load_study(study_id, data_dir)  # an invalid study fails here, as loading does
    try:
        said = digest.of("study", study)
    except digest.Unkeyed:  # a value the digest cannot take: its files' bytes stand for it
        said = digest.of("study files", study_id, content)
    write_aside(kept, f"{said}\n".encode())
    return said


def refuse_links(folder: Path) -> None:
    """A study's files must be regular files: what is read must be what the zip publishes. Checked
    on every load, kept study or not (a link to the same bytes has the same address)."""
    for name in KNOWN_FILES:
        if (folder / name).is_symlink():
            raise DataError(_rel(folder / name), "is a symbolic link: a study's files must be regular files")


def _load_study(study_id: str, folder: Path) -> Study:
    """Read and validate a study folder (uncached; :func:`load_study` has refused links)."""
    import pandas as pd

    meta, arms = load_meta(folder)
    study = Study(study_id, meta, arms, folder=folder)
    sizes = {a.id: a.n for a in arms}
    for table in TABLE_ORDER:
        cols = TABLES[table]
        path = folder / f"{table}.csv"
        if path.exists():
            study.tables[table] = read_table(path, table, sizes)
        else:
            study.tables[table] = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    pv = study.tables["pvalues"]
    pv["levels"] = pv["levels"].map(_levels)
    _check_references(study)
    return study


def _levels(cell: object) -> tuple[str, ...]:
    """``"a; b"`` → ``("a", "b")``; an empty cell → ``()``. Parsed once, here."""
    return tuple(lv.strip() for lv in cell.split(";")) if isinstance(cell, str) else ()


def _check_references(study: Study) -> None:
    """p-values and restatements must point at quantities that exist."""
    known = set()
    for t in ("baseline", "treatment", "response", "adverse_events", "survival", "hazard_ratios"):
        known |= set(study.tables[t]["key"].dropna())
    pv = study.tables["pvalues"]
    for table, frame, pool in (
        ("pvalues", pv, known),
        ("restatements", study.tables["restatements"], known | set(pv["key"])),
    ):
        for idx, key in frame["key"].items():
            if key not in pool and not _is_group_key(key, pv):
                raise DataError(
                    _rel(study.folder / f"{table}.csv"),
                    f"key '{key}' names no quantity in the study's tables",
                    row=line_of(frame, idx),
                    column="key",
                )
    _check_text_sums(study, known)
    ae_keys = set(study.tables["adverse_events"]["key"].dropna())
    for i, entry in enumerate(study.meta.get("ae_overall") or []):
        ok = isinstance(entry, dict) and entry.get("key") in ae_keys
        if not ok or entry.get("attribution") not in AE_ATTRIBUTIONS:
            raise DataError(
                _rel(study.folder / "study.yml"),
                f"ae_overall entry {i + 1} needs a key of adverse_events.csv and an attribution "
                f"({' or '.join(AE_ATTRIBUTIONS)}), got {entry!r}",
                column="ae_overall",
            )
    for idx, levels in pv["levels"].items():
        for lv in levels:
            if lv not in known:
                raise DataError(
                    _rel(study.folder / "pvalues.csv"),
                    f"level key '{lv}' not found",
                    row=line_of(pv, idx),
                    column="levels",
                )


def _check_text_sums(study: Study, known: set[str]) -> None:
    """Every term of a text sum is a number, N, or a key of the study's tables; one total."""
    path = _rel(study.folder / "text_sums.csv")
    frame = study.tables["text_sums"]
    for idx, r in frame.iterrows():
        for column in ("total", "items"):
            terms = split_terms(r[column])
            if column == "total" and len(terms) != 1:
                raise DataError(path, "total must be one term", row=line_of(frame, idx), column=column)
            for term in terms:
                if term != ARM_N and number_term(term) is None and term not in known:
                    raise DataError(
                        path,
                        f"term '{term}' is not a number, {ARM_N} or a key of the study's tables",
                        row=line_of(frame, idx),
                        column=column,
                    )


def _is_group_key(key: str, pv: pd.DataFrame) -> bool:
    """A multi-level variable's p is keyed by the variable (its levels listed)."""
    rows = pv[pv["key"] == key]
    return bool(len(rows)) and rows["levels"].map(bool).all()
