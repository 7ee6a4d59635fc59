"""The inbox and the strict reader: which dropped files are pending, and their rows.

This is the CSV connector's "client": where the API connectors call a platform, this one
lists an account's inbox folder and reads one file. It never writes to the inbox: the
team's files stay exactly as they dropped them. Reading is all or nothing: the first
thing wrong (encoding, a missing column, a short row, an unclosed quote) raises
`Rejected` with the line it is on, before any row is used.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from connectors.csv_export import settings
from connectors.csv_export.settings import CsvExport, CsvExportDate

# a zip (an .xlsx workbook) or an old .xls saved under a .csv name
_WORKBOOK_MAGIC = {b"PK\x03\x04": ".xlsx", b"\xd0\xcf\x11\xe0": ".xls"}


class Rejected(Exception):
    """A file cannot be read as its export type; `line` is 1-based, 0 for the whole file."""

    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line, self.what = line, what


@dataclass(frozen=True)
class DroppedFile:
    """One pending file of an account's inbox and the export types whose pattern it matches."""

    path: Path
    sha256: str
    size: int
    exports: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Row:
    """One data record: its first line in the file and its values by header."""

    line: int
    values: dict[str, str]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ignored(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(settings.IGNORED_PREFIXES) or lowered.endswith(
        settings.IGNORED_SUFFIXES
    )


def matching_exports(name: str, patterns: dict[str, str]) -> tuple[str, ...]:
    """The export types whose `match` glob fits a file name (case-insensitive)."""
    lowered = name.lower()
    return tuple(e for e, glob in patterns.items() if fnmatch.fnmatchcase(lowered, glob.lower()))


def list_inbox(folder: Path, patterns: dict[str, str]) -> tuple[list[DroppedFile], list[str]]:
    """(the files in `folder` that match an export type, with their content hashes, sorted
    by name; the names of the other files, which are not read).

    A missing folder is an account with nothing dropped yet. Subfolders are not read (a team
    may keep an `archive/` beside the inbox files).
    """
    if not folder.is_dir():
        return [], []
    found, unmatched = [], []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or _ignored(path.name):
            continue
        exports = matching_exports(path.name, patterns)
        if exports:
            data = path.read_bytes()
            found.append(DroppedFile(path, sha256_of(data), len(data), exports))
        else:
            unmatched.append(path.name)
    return found, unmatched


def decode(data: bytes, encoding: str) -> str:
    """The file's text; bytes that are not `encoding` are rejected on the line they are on."""
    for magic, kind in _WORKBOOK_MAGIC.items():
        if data.startswith(magic):
            raise Rejected(1, f"this is an Excel {kind} workbook, not CSV: save it as CSV UTF-8")
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise Rejected(
            line, f"not valid {encoding} (byte 0x{bad}); export it again as {encoding}"
        ) from None


def read_rows(data: bytes, export: CsvExport) -> list[Row]:
    """Every data row of one file, checked for shape.

    The `skip_rows` lines above the header are skipped (LinkedIn writes a description
    there); blank lines are skipped; every other record must have as many fields as the
    header, and every mapped column must be in the header exactly once.
    """
    text = decode(data, export.encoding)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise Rejected(line, "contains a NUL byte (a binary file, or the wrong encoding?)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=export.delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    ended = 0  # the last physical line read so far
    try:
        for fields in reader:
            records.append((ended + 1, fields))
            ended = reader.line_num
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise Rejected(
                ended + 1, "a quoted value here never closes (a truncated file?)"
            ) from None
        raise Rejected(ended + 1, f"unreadable CSV: {exc}") from None
    if len(records) <= export.skip_rows:
        raise Rejected(0, f"no header line (expected after {export.skip_rows} skipped lines)")
    header_line, header = records[export.skip_rows]
    header = [h.strip() for h in header]
    wanted = dict.fromkeys(export.columns.values())
    if isinstance(export.export_date, CsvExportDate):
        wanted[export.export_date.column] = None
    missing = [c for c in wanted if c not in header]
    if missing:
        raise Rejected(
            header_line,
            f"missing column(s) {', '.join(map(repr, missing))} "
            f"(the header has {', '.join(map(repr, header))})",
        )
    twice = [c for c in wanted if header.count(c) > 1]
    if twice:
        raise Rejected(header_line, f"column {twice[0]!r} appears twice in the header")
    rows = []
    for line, fields in records[export.skip_rows + 1 :]:
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            raise Rejected(
                line,
                f"{len(fields)} fields where the header has {len(header)} "
                "(a truncated or shifted row)",
            )
        rows.append(Row(line, dict(zip(header, fields, strict=True))))
    return rows
