"""Reading and atomically writing CarePath datasets (patients, events, ground truth, manifest).

A dataset is a directory; it is written into a sibling temp directory and swapped into
place, so a reader never sees a half-written one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from data.pathway import DEFAULT_PATHWAY, PATHWAY_FILE_NAME, Pathway, PathwayError, pathway_for_folder
from data.schema import EVENT_COLUMNS, GROUND_TRUTH_COLUMNS, OPTIONAL_TABLES, OUTREACH_COLUMNS, PATIENT_COLUMNS, TABLES
from data.validation import ContractError, Problem, check_outreach, check_typed_tables, check_values, coerce_table

TABLE_COLUMNS = {**TABLES, **OPTIONAL_TABLES, "ground_truth": GROUND_TRUTH_COLUMNS}
REQUIRED_TABLES = ("patients", "events")
FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"
METADATA = "dataset.toml"  # optional, written by the user: e.g. as_of = 2026-09-30
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a zip archive (an Excel .xlsx file?)",
    b"%PDF": "a PDF document",
    b"PAR1": "a Parquet file",
    b"\xff\xd8\xff": "a JPEG image",
    b"\xd0\xcf\x11\xe0": "an old-style Office document (.xls?)",
}


@dataclass
class Dataset:
    patients: pd.DataFrame
    events: pd.DataFrame
    ground_truth: pd.DataFrame | None
    manifest: dict
    as_of: pd.Timestamp
    source_dir: Path
    as_of_source: str = "manifest.json"  # where the as-of date came from (see read_dataset)
    pathway: Pathway = DEFAULT_PATHWAY  # the folder's own pathway.toml, else the default
    outreach: pd.DataFrame | None = None  # the outreach log (call attempts), when the folder has one


# --------------------------------------------------------------------------- atomic files


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same directory, fsync and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Text counterpart of ``atomic_write_bytes``."""
    return atomic_write_bytes(path, text.encode(encoding))


def _json_default(value):
    if isinstance(value, (pd.Timestamp, datetime, date)):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to the manifest")


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MB blocks (manifests, model artifacts)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- writing


def _prepare(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Contract columns first, dates as day-precision datetime64."""
    schema = {c.name: c for c in TABLE_COLUMNS[name]}
    ordered = [c for c in schema if c in df.columns] + [c for c in df.columns if c not in schema]
    out = df.loc[:, ordered].reset_index(drop=True)
    for col_name, col in schema.items():
        if col.kind != "date" or col_name not in out.columns:
            continue
        out[col_name] = pd.to_datetime(out[col_name], errors="raise").astype("datetime64[ns]").dt.normalize()
    return out


def _write_table(df: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        with open(path, "wb") as fh:
            df.to_parquet(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())
    else:
        # pyarrow's writer is several times faster than DataFrame.to_csv and writes
        # floats in shortest round-trip form, so a CSV dataset reads back identical.
        # Dates as date32 are written as plain YYYY-MM-DD.
        table = pa.Table.from_pandas(df, preserve_index=False)
        for i, column in enumerate(table.schema):
            if pa.types.is_timestamp(column.type):
                table = table.set_column(i, column.name, table.column(i).cast(pa.date32()))
        with open(path, "wb") as fh:
            pa_csv.write_csv(table, fh, pa_csv.WriteOptions(quoting_style="needed"))
            fh.flush()
            os.fsync(fh.fileno())


def write_dataset(tables: dict[str, pd.DataFrame], manifest: dict, out_dir, fmt: str = "parquet",
                  extra_files: dict[str, bytes] | None = None) -> dict:
    """Write the tables and ``manifest.json`` to ``out_dir`` atomically; return the final manifest.

    ``extra_files`` (name -> bytes, e.g. a ``pathway.toml``) go into the same atomic write.

    The manifest gains ``format`` and ``files: {name: {sha256, rows, bytes}}``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    unknown = [name for name in tables if name not in TABLE_COLUMNS]
    if missing or unknown:
        raise ValueError(f"tables must hold patients and events (optionally outreach, ground_truth); "
                         f"missing {missing}, unknown {unknown}")
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)

    tag = uuid.uuid4().hex[:8]
    tmp_dir = out_dir.parent / f".{out_dir.name}.tmp-{tag}"
    old_dir = out_dir.parent / f".{out_dir.name}.old-{tag}"
    tmp_dir.mkdir()
    try:
        files = {}
        for name, df in tables.items():
            if df is None:
                continue
            path = tmp_dir / f"{name}.{fmt}"
            _write_table(_prepare(df, name), path, fmt)
            files[name] = {"sha256": file_sha256(path), "rows": int(len(df)), "bytes": path.stat().st_size}
        for name, data in (extra_files or {}).items():
            if Path(name).name != name or name in (MANIFEST, *(f"{t}.{f}" for t in TABLE_COLUMNS for f in FORMATS)):
                raise ValueError(f"extra file name {name!r} must be a plain file name that is not a table or manifest")
            path = tmp_dir / name
            path.write_bytes(data)
            files[name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        final = {**manifest, "format": fmt, "files": files}
        final = json.loads(json.dumps(final, default=_json_default))
        with open(tmp_dir / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(final, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp_dir)

        # A non-empty directory cannot be os.replace'd over, so the old one steps aside
        # first; if the swap fails it is put back.
        had_old = out_dir.exists()
        if had_old:
            os.replace(out_dir, old_dir)
        try:
            os.replace(tmp_dir, out_dir)
        except BaseException:
            if had_old:
                os.replace(old_dir, out_dir)
            raise
        _fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    if had_old:
        shutil.rmtree(old_dir, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- reading


def _find_file(directory: Path, name: str, preferred: str | None) -> Path | None:
    order = [preferred] + [f for f in FORMATS if f != preferred] if preferred in FORMATS else list(FORMATS)
    for fmt in order:
        path = directory / f"{name}.{fmt}"
        if path.is_file():
            return path
    return None


def _unreadable(path: Path, rule: str, message: str) -> ContractError:
    return ContractError([Problem(str(path), None, rule, message)])


def read_csv_text(path: Path, dtype, sep: str = ",") -> pd.DataFrame:
    """A CSV file read for validation: refuses binary files (with what they look like),
    non-UTF-8 text (with the line) and unparsable or empty files, each as a ContractError
    naming the file and the rule. Only truly empty cells count as missing."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        raise _unreadable(path, "empty_file", "the file is empty (0 bytes); expected a CSV header and rows")
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise _unreadable(path, "not_csv", f"the file is not CSV text: it looks like {what}")
    if b"\x00" in head:
        raise _unreadable(path, "not_csv", "the file is not CSV text: it contains binary (NUL) bytes")
    try:
        df = pd.read_csv(path, sep=sep, dtype=dtype, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable(path, "encoding", _describe_bad_utf8(path)) from None
    except pd.errors.EmptyDataError:
        raise _unreadable(path, "empty_file", "the file has no CSV header") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise _unreadable(path, "not_csv", f"the file cannot be parsed as CSV: {str(exc).strip()[:200]}") from None
    if len(df) == 0:
        raise _unreadable(path, "empty_table", "the file has a header but no rows")
    return df


def _read_csv(path: Path, columns) -> pd.DataFrame:
    # Ids, dates and flags are read as text and typed by the contract, so ids like
    # "00123" keep their zeros. Numeric columns are left to the fast C parser; a stray
    # word there turns the column to text, and coerce_table then names the rows.
    return read_csv_text(path, dtype={c.name: str for c in columns if c.kind not in ("int", "float")})


def _describe_bad_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start:exc.start + 1].hex()
        return (f"the file is not UTF-8 text: byte 0x{byte} at line {line} (offset {exc.start}); "
                "save it as UTF-8 (e.g. 'CSV UTF-8' in Excel)")
    return "the file is not UTF-8 text"


def _read_table(path: Path, columns) -> pd.DataFrame:
    if path.suffix == ".csv":
        return _read_csv(path, columns)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise _unreadable(path, "not_parquet", f"the file cannot be read as Parquet: {str(exc)[:200]}") from None
    if len(df) == 0:
        raise _unreadable(path, "empty_table", "the table has no rows")
    return df.reset_index(drop=True)


def _read_manifest(directory: Path) -> dict | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _unreadable(path, "manifest", f"manifest.json is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise _unreadable(path, "manifest", "manifest.json must hold a JSON object")
    return manifest


AS_OF_FROM_SETTING = "the CAREPATH_AS_OF setting"
AS_OF_FROM_MANIFEST = "manifest.json"
METADATA = "dataset.toml"  # optional, written by the user: e.g. as_of = 2026-09-30
AS_OF_FROM_METADATA = METADATA
AS_OF_FROM_EVENTS = "the latest event date (inferred)"


def _read_metadata(directory: Path, problems: list[Problem]) -> dict:
    """The folder's optional ``dataset.toml`` (e.g. ``as_of = 2026-09-30``); {} if absent."""
    path = directory / METADATA
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(Problem(str(path), None, "metadata", f"{METADATA} is not valid TOML: {exc}"))
        return {}


def _parse_as_of(value, where: str, problems: list[Problem]):
    as_of = pd.to_datetime(str(value), errors="coerce", format="ISO8601")
    if pd.isna(as_of):
        problems.append(Problem(where, "as_of", "as_of", f"{value!r} is not a date (YYYY-MM-DD)"))
        return pd.NaT
    return pd.Timestamp(as_of).normalize()


def _as_of(explicit, manifest: dict, directory: Path, events: pd.DataFrame | None,
           problems: list[Problem]) -> tuple[pd.Timestamp, str]:
    """(as-of date, where it came from), in the order documented in ``read_dataset``."""
    if explicit is not None:
        return _parse_as_of(explicit, "CAREPATH_AS_OF", problems), AS_OF_FROM_SETTING
    if manifest.get("as_of") and not manifest.get("as_of_inferred"):
        return _parse_as_of(manifest["as_of"], str(directory / MANIFEST), problems), AS_OF_FROM_MANIFEST
    metadata = _read_metadata(directory, problems)
    if "as_of" in metadata:
        return _parse_as_of(metadata["as_of"], str(directory / METADATA), problems), AS_OF_FROM_METADATA
    latest = events["date"].max() if events is not None and "date" in events.columns else pd.NaT
    return (pd.NaT if pd.isna(latest) else pd.Timestamp(latest).normalize()), AS_OF_FROM_EVENTS


def _with_all_columns(df: pd.DataFrame, columns) -> pd.DataFrame:
    """The contract's exact column set, filling columns that could not be read with missing values."""
    for col in columns:
        if col.name not in df.columns:
            df[col.name] = pd.Series(pd.NA, index=df.index, dtype=object)
    return df.loc[:, [c.name for c in columns]]


def read_dataset(directory, validate: bool = True, as_of=None) -> Dataset:
    """Read a dataset directory (parquet or csv), type it by the contract and validate it.

    Only reads: nothing in ``directory`` is written, moved or deleted. The as-of date is
    ``as_of`` when given (the CAREPATH_AS_OF setting), else the manifest's, else
    ``as_of`` in the folder's ``dataset.toml``, else the latest event date (then the
    manifest returned says ``as_of_inferred``); ``Dataset.as_of_source`` records which.

    Raises ``FileNotFoundError`` when the directory or the patients/events files are
    missing and ``ContractError`` when a file cannot be read or (``validate``) the
    data break the contract.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"dataset directory not found: {directory}")
    manifest = _read_manifest(directory)
    preferred = manifest.get("format") if manifest else None
    try:
        pathway = pathway_for_folder(directory)
    except PathwayError as exc:
        raise ContractError([Problem(str(directory / PATHWAY_FILE_NAME), None, "pathway", str(exc))]) from None

    paths = {name: _find_file(directory, name, preferred) for name in TABLE_COLUMNS}
    missing = [name for name in REQUIRED_TABLES if paths[name] is None]
    if missing:
        wanted = ", ".join(f"{name}.parquet or {name}.csv" for name in missing)
        raise FileNotFoundError(f"{directory} has no {wanted}")

    problems: list[Problem] = []
    raw = {}
    for name, path in paths.items():
        if path is None:
            continue
        try:
            raw[name] = _read_table(path, TABLE_COLUMNS[name])
        except ContractError as exc:
            problems += exc.problems
    if manifest and validate:
        for name, path in paths.items():
            expected = (manifest.get("files") or {}).get(name, {}).get("sha256")
            if path is not None and expected and path.suffix == f".{preferred}" and file_sha256(path) != expected:
                problems.append(Problem(str(path), None, "checksum",
                                        "the file does not match the sha256 in manifest.json (changed since it was "
                                        "written); regenerate the manifest or remove it"))
    if problems and ("patients" not in raw or "events" not in raw):
        raise ContractError(problems)

    typed = {}
    for name, df in raw.items():
        typed[name], found = coerce_table(df, TABLE_COLUMNS[name], str(paths[name]))
        problems += found

    manifest = dict(manifest or {})
    as_of, source = _as_of(as_of, manifest, directory, typed.get("events"), problems)
    if source == AS_OF_FROM_EVENTS:
        manifest["as_of_inferred"] = True
    if not pd.isna(as_of):
        manifest["as_of"] = f"{as_of:%Y-%m-%d}"

    if validate:
        problems += check_typed_tables(typed["patients"], typed["events"], as_of,
                                       str(paths["patients"]), str(paths["events"]), pathway)
        if "ground_truth" in typed:
            problems += check_values(typed["ground_truth"], GROUND_TRUTH_COLUMNS, str(paths["ground_truth"]))
        if "outreach" in typed:
            problems += check_outreach(typed["outreach"], typed["patients"], as_of, str(paths["outreach"]), pathway)
        if problems:
            raise ContractError(problems)
    elif any(p.rule == "missing_column" for p in problems):
        raise ContractError([p for p in problems if p.rule == "missing_column"])

    ground_truth = typed.get("ground_truth")
    outreach = typed.get("outreach")
    return Dataset(
        patients=_with_all_columns(typed["patients"], PATIENT_COLUMNS),
        events=_with_all_columns(typed["events"], EVENT_COLUMNS),
        # Optional ground-truth columns (the call gain) stay absent when a dataset has none.
        ground_truth=_with_all_columns(ground_truth, [c for c in GROUND_TRUTH_COLUMNS
                                                      if c.required or c.name in ground_truth.columns])
        if ground_truth is not None else None,
        manifest=manifest,
        as_of=as_of,
        source_dir=directory.resolve(),
        as_of_source=source,
        pathway=pathway,
        outreach=_with_all_columns(outreach, OUTREACH_COLUMNS) if outreach is not None else None,
    )
