"""CSV export connector: platforms a team reaches only through exports (LinkedIn, X, a
social suite's CSV) turned into the same streams as the API connectors.

A team drops export files in `<inbox>/<account id>/`. An export type in config says which
files it is (a name glob), what kind they are (`snapshot`: lifetime counters per post as
of the export date; `daily`: one row per post and day) and which of the file's columns are
which stream column, already in unified names. `extract_items` lists the account's pending
files: the ones matching its export types whose content (sha256) has not landed yet, so a
file dropped twice lands once and a corrected file lands again. `extract_metrics` reads
one file completely and strictly, and only then returns its tables: a file with anything
wrong raises one line naming the file and line, and nothing of it lands, while the
other files of the run still do. Inbox files are never modified, moved or deleted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa

from connectors.csv_export import settings
from connectors.csv_export.client import DroppedFile, Rejected, list_inbox, read_rows, sha256_of
from connectors.csv_export.settings import CsvAccount, CsvExport, CsvExportDate, CsvExportSource
from connectors.quota import Budget, Throttle
from contentpulse.config import under
from contentpulse.contract import Hooks, LandedState
from contentpulse.credentials import Connection
from contentpulse.errors import SourceError
from contentpulse.streams import CallLog, ExtractResult, Window, find_links

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)
_COUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.0+)?$")  # 1234, 1,234, 1234.0 (X)
_NUMBER = re.compile(r"^-?(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")  # negatives, fractions
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")  # h:mm:ss or m:ss
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
# stricter than streams.find_hashtags: exports hold URLs with #fragments and "##" runs
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")


def plan_chunks(window: Window) -> list[Window]:
    """One chunk: what is read is the pending files, whatever dates they cover."""
    return [window]


def budget(source: CsvExportSource) -> Budget:
    """No API, no quota."""
    return Budget({})


def metric_units(chunk: Window, files: list[DroppedFile]) -> list[DroppedFile]:
    """One unit per file: each lands (or is rejected) on its own."""
    return list(files)


def landed_state(landed: Mapping[str, pa.Table | None]) -> set[str]:
    """The sha256 of every file already landed for the account (from its landed extract_log)."""
    table = landed.get("extract_log")
    if table is None:
        return set()
    return set(table.column("sha256").to_pylist())


def extract_items(
    account: CsvAccount,
    window: Window,
    source: CsvExportSource,
    conn: Connection | None,
    run_id: str,
    throttle: Throttle | None = None,
    state: set[str] | None = None,
) -> tuple[ExtractResult, list[DroppedFile]]:
    """(an empty result, the account's pending files sorted by name): files matching its
    export types whose content has not landed (`state`), each content once."""
    if not source.inbox.is_dir():
        raise SourceError(
            f"csv_export {account.id}: inbox folder {source.inbox} not found "
            "(create it, or fix sources.csv_export.inbox)"
        )
    patterns = {name: source.exports[name].match for name in account.exports}
    dropped, unmatched = list_inbox(under(source.inbox, account.id), patterns)
    if unmatched:
        log.warning(
            "csv_export %s: %d files match none of the account's export types (%s), not read: %s",
            account.id,
            len(unmatched),
            ", ".join(account.exports),
            ", ".join(unmatched[:5]) + (", ..." if len(unmatched) > 5 else ""),
        )
    seen = set(state or ())
    pending = []
    for file in dropped:
        if file.sha256 not in seen:
            seen.add(file.sha256)
            pending.append(file)
    log.info(
        "csv_export %s: %d files in the inbox, %d pending", account.id, len(dropped), len(pending)
    )
    result = ExtractResult(settings.PLATFORM, account.id, window, {}, CallLog())
    return result, pending


def extract_metrics(
    account: CsvAccount,
    chunk: Window,
    file: DroppedFile,
    source: CsvExportSource,
    conn: Connection | None,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """The tables of one file, read and checked whole before anything is returned.

    A file that cannot be used raises one SourceError line
    `csv_export <account>: <file>: line <n>: <what>`; nothing of it lands.
    """
    try:
        return _read_file(account, chunk, file, source, run_id)
    except Rejected as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise SourceError(
            f"csv_export {account.id}: {file.name}: {where}{exc.what}; nothing of it landed"
        ) from None


# --- values -------------------------------------------------------------------------------


def parse_count(text: str) -> int | None:
    """A counter as platforms export it: `1234`, `1,234`, `1234.0`; a dash or empty is
    NULL. Anything else (a percentage, a fraction, a negative, `1.2K`) is a ValueError."""
    value = text.strip()
    if value in settings.EMPTY_VALUES:
        return None
    match = _COUNT.match(value)
    if match:
        count = int(match.group(1).replace(",", ""))
        if count > settings.MAX_COUNT:
            raise ValueError(f"{text!r} is too large for a count")
        return count
    if value.endswith("%"):
        raise ValueError(f"{text!r} is a percentage, not a count")
    if _NUMBER.match(value):
        if value.startswith("-"):
            raise ValueError(f"{text!r} is negative, and counts never are")
        raise ValueError(f"{text!r} is not a whole number")
    raise ValueError(f"{text!r} is not a count")


def parse_duration(text: str) -> int | None:
    """Seconds from `95`, `1:35` or `1:01:35`; empty or a dash is NULL."""
    value = text.strip()
    if value in settings.EMPTY_VALUES:
        return None
    clock = _CLOCK.match(value)
    if clock:
        hours, minutes, seconds = (int(g) if g else 0 for g in clock.groups())
        if seconds < 60 and (hours == 0 or minutes < 60):
            return (hours * 60 + minutes) * 60 + seconds
    try:
        return parse_count(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (seconds, m:ss or h:mm:ss)") from None


def export_date_from_name(name: str) -> date | None:
    """The last date (YYYY-MM-DD or YYYYMMDD) in a file name: an export of a date range
    names both ends, and its counters are complete through the last."""
    found = None
    for year, month, day in _NAME_DATE.findall(name):
        try:
            found = date(int(year), int(month), int(day))
        except ValueError:
            continue
    return found


def _moment(text: str, fmt: str, tz: ZoneInfo) -> datetime:
    """A date/time as `fmt`; one without an offset is in the account's time zone."""
    parsed = datetime.strptime(text, fmt)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _format(value: str | None, export: CsvExport) -> str:
    """The item's format: the export type's default, or the column's value translated."""
    if value is None:
        return export.format
    translated = {k.lower(): v for k, v in export.formats.items()}
    return translated.get(value.lower(), value.lower())


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- one file ------------------------------------------------------------------------------


@dataclass
class _Parsed:
    line: int
    item_id: str
    day: date  # the snapshot date or the reporting date
    metrics: dict[str, int | None]
    item: dict | None  # the content_items fields, when the export has publish times


class _Cells:
    """One row's mapped cells, parsed; a bad value is rejected naming line and column."""

    def __init__(self, line: int, values: dict[str, str], export: CsvExport, tz: ZoneInfo):
        self.line, self.values, self.export, self.tz = line, values, export, tz

    def text(self, key: str) -> str | None:
        column = self.export.columns.get(key)
        if column is None:
            return None
        return self.values[column].strip() or None

    def reject(self, column: str, what: str) -> Rejected:
        return Rejected(self.line, f"column {column!r}: {what}")

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.reject(self.export.columns[key], f"empty, and every row needs its {key}")
        return value

    def count(self, key: str) -> int | None:
        column = self.export.columns[key]
        try:
            return parse_count(self.values[column])
        except ValueError as exc:
            raise self.reject(column, str(exc)) from None

    def duration(self) -> int | None:
        column = self.export.columns.get("duration_s")
        if column is None:
            return None
        try:
            return parse_duration(self.values[column])
        except ValueError as exc:
            raise self.reject(column, str(exc)) from None

    def moment(self, column: str) -> datetime:
        value = self.values[column].strip()
        try:
            return _moment(value, self.export.date_format, self.tz)
        except ValueError:
            raise self.reject(
                column, f"{value!r} does not match date_format {self.export.date_format!r}"
            ) from None

    def day(self, column: str) -> date:
        return self.moment(column).astimezone(self.tz).date()


def _parse(
    cells: _Cells, export: CsvExport, file_day: date | None, item_id_pattern: re.Pattern | None
) -> _Parsed:
    raw_id = cells.required("item_id")
    item_id = raw_id
    if item_id_pattern is not None:
        found = item_id_pattern.search(raw_id)
        if not found or not found.group(1):
            raise cells.reject(
                export.columns["item_id"],
                f"{raw_id!r} does not match item_id_pattern {item_id_pattern.pattern!r}",
            )
        item_id = found.group(1)
    if export.kind == "daily":
        cells.required("date")
        day = cells.day(export.columns["date"])
    elif isinstance(export.export_date, CsvExportDate):
        day = cells.day(export.export_date.column)
    else:
        assert file_day is not None
        day = file_day
    metrics = {m: cells.count(m) for m in settings.METRICS if m in export.columns}
    item = None
    if "published_at" in export.columns:
        cells.required("published_at")
        published = cells.moment(export.columns["published_at"])
        if export.kind == "snapshot" and published.astimezone(cells.tz).date() > day:
            raise cells.reject(
                export.columns["published_at"],
                f"published {published.astimezone(cells.tz).date()}, after the export date "
                f"{day} (is the date in the file name right?)",
            )
        title, description = cells.text("title"), cells.text("description")
        text = " ".join(t for t in (title, description) if t)
        item = {
            "item_id": item_id,
            "title": title,
            "description": description,
            "url": cells.text("url"),
            "links": _unique(find_links(text)),
            "tags": _unique(_HASHTAG.findall(text)),
            "published_at": published.astimezone(UTC),
            "format": _format(cells.text("format"), export),
            "duration_s": cells.duration(),
        }
    return _Parsed(cells.line, item_id, day, metrics, item)


def _read_file(
    account: CsvAccount, chunk: Window, file: DroppedFile, source: CsvExportSource, run_id: str
) -> ExtractResult:
    if len(file.exports) != 1:
        raise Rejected(
            0,
            f"matches export types {' and '.join(file.exports)}: "
            "make their `match` patterns distinct",
        )
    name = file.exports[0]
    export = source.exports[name]
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise Rejected(0, f"cannot be read ({exc.strerror})") from None
    file_day = None
    if export.kind == "snapshot" and export.export_date == "filename":
        file_day = export_date_from_name(file.name)
        if file_day is None:
            raise Rejected(
                0,
                "no date (YYYY-MM-DD or YYYYMMDD) in the file name: name it with the day its "
                "counters are complete through, or set the export type's export_date",
            )
    rows = read_rows(data, export)
    tz = ZoneInfo(account.timezone)
    pattern = re.compile(export.item_id_pattern) if export.item_id_pattern else None
    parsed = [_parse(_Cells(r.line, r.values, export, tz), export, file_day, pattern) for r in rows]
    first_line: dict[tuple[str, date], int] = {}
    for row in parsed:
        key = (row.item_id, row.day)
        if key in first_line:
            raise Rejected(
                row.line, f"item {row.item_id} for {row.day} is already on line {first_line[key]}"
            )
        first_line[key] = row.line
    return _tables(account, chunk, file, name, export, data, parsed, run_id)


def _tables(
    account: CsvAccount,
    chunk: Window,
    file: DroppedFile,
    name: str,
    export: CsvExport,
    data: bytes,
    parsed: list[_Parsed],
    run_id: str,
) -> ExtractResult:
    extracted_at = datetime.now(UTC)
    common = {"account_id": account.id, "platform": export.platform}
    source = {"export": name, "source_file": file.name}
    run = {"extracted_at": extracted_at, "run_id": run_id}
    stream = "content_snapshots" if export.kind == "snapshot" else "content_daily"
    day_column = "snapshot_date" if export.kind == "snapshot" else "date"
    metric_rows = [
        {
            **common,
            "item_id": p.item_id,
            day_column: p.day,
            **p.metrics,
            **source,
            "source_line": p.line,
            **run,
        }
        for p in parsed
    ]
    items: dict[str, dict] = {}
    for p in sorted(parsed, key=lambda p: p.day):  # a daily export: the newest day's fields
        if p.item is not None:
            items[p.item_id] = {**common, **p.item, **source, "source_line": p.line, **run}
    days = [p.day for p in parsed]
    window = Window(min(days), max(days)) if days else chunk
    tables = {stream: pa.Table.from_pylist(metric_rows, schema=settings.SCHEMAS[stream])}
    if "published_at" in export.columns:
        tables["content_items"] = pa.Table.from_pylist(
            list(items.values()), schema=settings.SCHEMAS["content_items"]
        )
    tables["extract_log"] = pa.Table.from_pylist(
        [
            {
                **common,
                **source,
                "sha256": sha256_of(data),
                "bytes": len(data),
                "window_start": window.start,
                "window_end": window.end,
                "rows": len(parsed),
                **run,
            }
        ],
        schema=settings.SCHEMAS["extract_log"],
    )
    log.info(
        "csv_export %s: %s (%s): %d rows, %d items, %s",
        account.id,
        file.name,
        name,
        len(parsed),
        len(items),
        window,
    )
    return ExtractResult(
        settings.PLATFORM,
        account.id,
        window,
        tables,
        CallLog(),
        last_date_returned=window.end if days else None,
    )


# the landed files (their hashes) are the state: a run resumes with the files not landed
HOOKS = Hooks(
    plan_chunks=plan_chunks,
    extract_items=extract_items,
    extract_metrics=extract_metrics,
    budget=budget,
    metric_units=metric_units,
    landed_state=LandedState({"extract_log": ("sha256",)}, landed_state),
    resume_by_window=False,
)
