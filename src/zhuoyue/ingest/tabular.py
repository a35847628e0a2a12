"""Reading tables from CSV, Excel and Parquet files, with row-level problem reports.

Cells are read as text and converted column by column, so that every cell that is not a
number is reported with the row number a person sees in Excel (the header is row 1) instead
of failing on the first one. CSV files may be UTF-8 (with or without BOM) or GB18030/GBK, as
saved by Chinese Excel; the delimiter (comma, semicolon, tab) is detected from the header line.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from zhuoyue.errors import DataError, InputFileError, Problem, ValidationError

__all__ = ["Gathered", "Table", "read_table"]

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_BRACKETS = re.compile(
    r"^\s*(?P<outer>[^(\[（【]*?)\s*[(\[（【]\s*(?P<inner>[^)\]）】]*?)\s*[)\]）】]\s*$"
)
_MAX_SHOWN = 3


def _norm(name: str) -> str:
    return name.strip().casefold()


def _header_aliases(header: str) -> set[str]:
    """A header matches its own text and each part of ``中文 (english)`` / ``english [中文]``."""
    out = {_norm(header)}
    m = _BRACKETS.match(header)
    if m:
        out |= {_norm(m.group("outer")), _norm(m.group("inner"))}
    out.discard("")
    return out


@dataclass(frozen=True, slots=True)
class Table:
    """A table read from a file: all cells as text (or typed, for Parquet), plus where it came from."""

    frame: pl.DataFrame
    source: str
    header_rows: int = 1

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def __len__(self) -> int:
        return self.frame.height

    def row_number(self, index: int | npt.NDArray[np.int64]) -> Any:
        """The spreadsheet row of a 0-based data index (header = row 1)."""
        return index + self.header_rows + 1

    def column(self, name: str, *, role: str = "column") -> str:
        """Resolve a column name given by a person (case, spaces and bracketed parts tolerated)."""
        if name in self.frame.columns:
            return name
        wanted = _norm(name)
        hits = [c for c in self.frame.columns if wanted in _header_aliases(c)]
        if len(hits) == 1:
            return hits[0]
        cols = ", ".join(repr(c) for c in self.frame.columns)
        if len(hits) > 1:
            raise DataError(
                f"{self.source}: the {role} {name!r} matches several columns "
                f"({', '.join(map(repr, hits))}). Use the exact header.",
                code="ambiguous_column",
            )
        close = difflib.get_close_matches(name, self.frame.columns, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"{self.source}: there is no {role} {name!r}. The columns are: {cols}.{hint}",
            code="missing_column",
        )

    def numbers(
        self, name: str, *, skip_blank: bool = False
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], list[Problem]]:
        """Column ``name`` as floats, a mask of blank cells, and a problem per bad cell.

        Blank cells are problems unless ``skip_blank`` (then they are masked out by the caller).
        """
        s = self.frame.get_column(name)
        if s.dtype.is_numeric():
            arr = s.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
            blank = s.is_null().to_numpy()
            text = None
        else:
            text = s.cast(pl.String).str.strip_chars()
            blank = (text.is_null() | (text == "")).to_numpy()
            arr = text.cast(pl.Float64, strict=False).to_numpy().astype(np.float64, copy=False)
        if text is None:
            bad_number = np.zeros(arr.size, dtype=bool)
        else:
            # "nan" parses as NaN: it is reported with the other non-finite values
            nan_text = (
                text.str.to_lowercase().is_in(["nan", "+nan", "-nan"]).fill_null(False).to_numpy()
            )
            bad_number = np.isnan(arr) & ~blank & ~nan_text
        non_finite = ~np.isfinite(arr) & ~blank & ~bad_number
        checks = [
            (bad_number, "not_a_number", "is not a number."),
            (non_finite, "not_finite", "is not a finite number. Enter the measured value."),
        ]
        problems: list[Problem] = []
        for mask, code, what in checks:
            for i in np.flatnonzero(mask).tolist():
                value = str(arr[i]) if text is None else text[i]
                row = int(self.row_number(i))
                problems.append(
                    Problem(row, name, value, code, f'Row {row}, column "{name}": "{value}" {what}')
                )
        if not skip_blank:
            for i in np.flatnonzero(blank).tolist():
                row = int(self.row_number(i))
                problems.append(
                    Problem(
                        row,
                        name,
                        None,
                        "blank",
                        f'Row {row}, column "{name}": the cell is empty. '
                        "Fill it in, delete the row, or use --skip-blank.",
                    )
                )
        return arr, blank, problems

    def labels(
        self, name: str, *, what: str = "subgroup"
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_], list[Problem]]:
        """Column ``name`` as text labels (subgroup, part, operator ids), a blank mask and problems.

        ``what`` names the label in the message of an empty cell.
        """
        s = self.frame.get_column(name).cast(pl.String).str.strip_chars()
        blank = (s.is_null() | (s == "")).to_numpy()
        problems = [
            Problem(
                int(self.row_number(int(i))),
                name,
                None,
                "blank",
                f'Row {self.row_number(int(i))}, column "{name}": the {what} is empty. '
                f"Give every row its {what}.",
            )
            for i in np.flatnonzero(blank)
        ]
        return s.fill_null("").to_numpy(), blank, problems

    def gather(
        self,
        value: str,
        *,
        skip_blank: bool = False,
        labels: Mapping[str, tuple[str, str]] | None = None,
        numbers: Mapping[str, str] | None = None,
    ) -> Gathered:
        """The value column and companion columns of every usable row, or every problem at once.

        ``labels`` maps a key to ``(column, what)`` read as text labels; ``numbers`` maps a key to
        a column read as numbers. With ``skip_blank``, rows whose value cell is empty are left
        out (and reported in ``skipped``); problems in those rows are not reported.

        Raises
        ------
        ValidationError
            With every bad cell, sorted by row.
        DataError
            When no value is left.
        """
        problems: list[Problem] = []
        values, blank, probs = self.numbers(value, skip_blank=skip_blank)
        problems += probs
        keep = ~blank if skip_blank else np.ones(len(self), dtype=bool)

        def kept(p: Problem) -> bool:
            return p.row is None or bool(keep[int(p.row) - self.header_rows - 1])

        columns: dict[str, npt.NDArray[Any]] = {}
        for key, (col, what) in (labels or {}).items():
            arr, _, probs = self.labels(col, what=what)
            problems += [p for p in probs if kept(p)]
            columns[key] = arr
        for key, col in (numbers or {}).items():
            arr, _, probs = self.numbers(col)
            problems += [p for p in probs if kept(p)]
            columns[key] = arr
        if problems:
            problems.sort(key=lambda p: (p.row or 0, p.column or ""))
            raise ValidationError(problems, source=self.source)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            raise DataError(f"{self.source}: column {value!r} has no values.", code="empty")
        return Gathered(
            values=values[idx],
            columns={k: v[idx] for k, v in columns.items()},
            rows=np.asarray(self.row_number(idx), dtype=np.int64),
            skipped=tuple(int(r) for r in np.asarray(self.row_number(np.flatnonzero(~keep)))),
            value_column=value,
            source=self.source,
        )


@dataclass(frozen=True, slots=True)
class Gathered:
    """Usable rows of a table: the values, companion columns and the spreadsheet row of each."""

    values: npt.NDArray[np.float64]
    columns: Mapping[str, npt.NDArray[Any]]
    rows: npt.NDArray[np.int64]
    skipped: tuple[int, ...]
    value_column: str
    source: str

    def notes(self) -> tuple[str, ...]:
        if not self.skipped:
            return ()
        return (f"skipped {len(self.skipped)} row(s) with a blank {self.value_column!r}",)

    def locate(self, exc: DataError, row_codes: Collection[str]) -> DataError:
        """The error with the spreadsheet row of the value it names (codes in ``row_codes``),
        or with the file name; to re-raise in place of ``exc``."""
        if exc.index is not None and exc.code in row_codes and 0 <= exc.index < self.rows.size:
            return DataError(
                f"Row {int(self.rows[exc.index])}: {exc}", index=exc.index, code=exc.code
            )
        return DataError(f"{self.source}: {exc}", index=exc.index, code=exc.code)


def _decode(data: bytes, source: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        f"{source}: the file is neither UTF-8 nor GB18030/GBK text. Save it as CSV UTF-8 "
        "(Excel: 另存为 → CSV UTF-8)."
    )


def _read_csv(path: Path) -> pl.DataFrame:
    text = _decode(path.read_bytes(), path.name)
    if not text.strip():
        raise DataError(
            f"{path.name}: the file is empty. Export the data with a header row.", code="empty"
        )
    first = text.split("\n", 1)[0]
    try:
        sep = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pl.read_csv(
            io.StringIO(text),
            separator=sep,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path.name}: the file is not a well-formed table ({str(exc).splitlines()[0]}). "
            "Check that every row has as many cells as the header.",
            code="malformed",
        ) from None


def _read_excel(path: Path, sheet: str | None) -> pl.DataFrame:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:
        raise InputFileError(f"{path.name}: cannot open the workbook ({exc}).") from None
    names = list(reader.sheet_names)
    if sheet is None:
        target: str | int = 0
    elif sheet in names:
        target = sheet
    else:
        raise InputFileError(
            f"{path.name}: there is no sheet {sheet!r}. The sheets are: "
            + ", ".join(repr(n) for n in names)
            + "."
        )
    try:
        frame = reader.load_sheet(target, dtypes="string").to_polars()
    except Exception as exc:
        raise DataError(
            f"{path.name}: cannot read sheet {target!r} ({exc}).", code="malformed"
        ) from None
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - defensive
        frame = pl.DataFrame(frame)
    return frame


def read_table(path: str | Path, *, sheet: str | None = None) -> Table:
    """Read a CSV, Excel or Parquet file into a :class:`Table`.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, of an unsupported type, or lacks the sheet.
    DataError
        The file is empty, has no data rows, or is not a well-formed table.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file.")
    if p.is_dir():
        raise InputFileError(f"{p}: is a folder, not a file.")
    suffix = p.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            frame = _read_csv(p)
        elif suffix in EXCEL_SUFFIXES:
            frame = _read_excel(p, sheet)
        elif suffix in PARQUET_SUFFIXES:
            frame = pl.read_parquet(p)
        else:
            raise InputFileError(
                f"{p.name}: unsupported file type {suffix or '(none)'!r}. Use CSV (.csv, .tsv, "
                ".txt), Excel (.xlsx, .xls, .xlsm, .ods) or Parquet (.parquet)."
            )
    except PermissionError:
        raise InputFileError(f"{p}: permission denied.") from None
    except pl.exceptions.PolarsError as exc:
        raise InputFileError(
            f"{p.name}: cannot read the file ({str(exc).splitlines()[0]})."
        ) from None
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(f"{p.name}: --sheet applies to Excel workbooks only.")
    if frame.width == 0 or frame.height == 0:
        raise DataError(
            f"{p.name}: no data rows{' in sheet ' + repr(sheet) if sheet else ''}. "
            "The first row must be the header and data must follow.",
            code="empty",
        )
    return Table(frame=frame, source=p.name)
