"""CSV export constants: what counts as empty, which files are never read, landing schemas.

The streams are already in unified names (an export type's `columns` mapping declares
them), and every row carries the `platform` of its export type (linkedin, x, ...), the
export type and the file it came from, so any number can be traced back to its line.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
from pydantic import Field, ValidationInfo, field_validator

from contentpulse.config import Account, Strict, account_ids
from contentpulse.contract import Connector

PLATFORM = "csv_export"
# The unified stream columns a CSV export's columns may map to: exports are declared
# straight in unified names, so their raw rows need no renaming in staging.
CSV_METRICS = (
    "views",
    "reach",
    "impressions",
    "likes",
    "comments",
    "shares",
    "saves",
    "clicks",
    "watch_time_s",
    "followers_gained",
)
CSV_ITEM_FIELDS = ("item_id", "title", "description", "url", "published_at", "format", "duration_s")
# what each kind of export must map: a snapshot export makes items (with their publish
# time); a daily export's rows are days of an item
CSV_REQUIRED = {"snapshot": ("item_id", "published_at"), "daily": ("item_id", "date")}
METRICS = CSV_METRICS
# cell values that mean "no number" in platform exports (LinkedIn and X print a dash)
EMPTY_VALUES = frozenset({"", "-", "\u2013", "\u2014", "n/a", "N/A"})
# files in an inbox folder that are never exports: hidden files, Office lock files,
# downloads and syncs still in progress
IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp")
MAX_COUNT = 2**63 - 1  # int64

_RUN = [("extracted_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string())]
# where each row came from: the export type, the file's name, and the row's line in it
_SOURCE = [("export", pa.string()), ("source_file", pa.string()), ("source_line", pa.int64())]
_METRICS = [(m, pa.int64()) for m in METRICS]

SCHEMAS: dict[str, pa.Schema] = {
    # one row per item per file that lists it (snapshot exports, daily ones with publish times)
    "content_items": pa.schema(
        [
            ("account_id", pa.string()),
            ("platform", pa.string()),
            ("item_id", pa.string()),
            ("title", pa.string()),
            ("description", pa.string()),
            ("url", pa.string()),
            ("links", pa.list_(pa.string())),
            ("tags", pa.list_(pa.string())),
            ("published_at", pa.timestamp("us", tz="UTC")),
            ("format", pa.string()),
            ("duration_s", pa.int64()),
            *_SOURCE,
            *_RUN,
        ]
    ),
    # snapshot exports: lifetime counters per item, complete through snapshot_date
    "content_snapshots": pa.schema(
        [
            ("account_id", pa.string()),
            ("platform", pa.string()),
            ("item_id", pa.string()),
            ("snapshot_date", pa.date32()),
            *_METRICS,
            *_SOURCE,
            *_RUN,
        ]
    ),
    # daily exports: one row per item and reporting day
    "content_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("platform", pa.string()),
            ("item_id", pa.string()),
            ("date", pa.date32()),
            *_METRICS,
            *_SOURCE,
            *_RUN,
        ]
    ),
    # one row per landed file: its content hash is what marks it landed (the resume state)
    "extract_log": pa.schema(
        [
            ("account_id", pa.string()),
            ("platform", pa.string()),
            ("export", pa.string()),
            ("source_file", pa.string()),
            ("sha256", pa.string()),
            ("bytes", pa.int64()),
            ("window_start", pa.date32()),
            ("window_end", pa.date32()),
            ("rows", pa.int64()),
            *_RUN,
        ]
    ),
}


class CsvExportDate(Strict):
    """The export date read from a column of each row (instead of the file name)."""

    column: Annotated[str, Field(min_length=1)]


class CsvExport(Strict):
    """One export type: which dropped files it is, and how their columns become stream columns."""

    platform: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    # snapshot: lifetime counters per post as of the export date; daily: a row per post and day
    kind: Literal["snapshot", "daily"] = "snapshot"
    match: Annotated[str, Field(min_length=1)]  # a file-name glob, case-insensitive
    # the reporting day a snapshot export's counters are complete through: the last date
    # (YYYY-MM-DD or YYYYMMDD) in the file name, or a column of each row
    export_date: Literal["filename"] | CsvExportDate = "filename"
    date_format: Annotated[str, Field(pattern=r"%")] = "%Y-%m-%d"  # strptime, date/time columns
    encoding: str = "utf-8"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    skip_rows: Annotated[int, Field(ge=0, le=100)] = 0  # lines above the header
    # a regex whose first group is the item id within the mapped item_id value (a link)
    item_id_pattern: str | None = None
    format: Annotated[str, Field(min_length=1)] = "post"  # when no column maps `format`
    # the format column's values -> formats (video, post, ...); others are lower-cased as is
    formats: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    # stream column (unified name) -> the export's column header
    columns: dict[str, Annotated[str, Field(min_length=1)]]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("item_id_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        if groups < 1:
            raise ValueError("needs a (group) around the item id")
        return value

    @field_validator("export_date")
    @classmethod
    def _snapshot_only(cls, value: str | CsvExportDate, info: ValidationInfo) -> object:
        if info.data.get("kind") == "daily":
            raise ValueError("only for snapshot exports (a daily export's rows carry their date)")
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = (*CSV_ITEM_FIELDS, "date", *CSV_METRICS)
        for name in columns:
            if name not in known:
                raise ValueError(f"{name!r} is not a stream column (known: {', '.join(known)})")
        kind = info.data.get("kind", "snapshot")
        missing = [c for c in CSV_REQUIRED[kind] if c not in columns]
        if missing:
            raise ValueError(f"a {kind} export must map {', '.join(missing)}")
        if kind == "snapshot" and "date" in columns:
            raise ValueError("date is for daily exports (a snapshot's day is its export_date)")
        return columns


class CsvAccount(Account):
    """An account whose numbers arrive as dropped export files, of these export types."""

    exports: Annotated[list[str], Field(min_length=1)]


class CsvExportSource(Strict):
    """Platforms reached only through exports: files dropped in <inbox>/<account id>/."""

    inbox: Path = Path("data/inbox")  # relative to the config file
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 1  # files, not dates, are the work
    concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    max_calls_per_second: None = None  # no API calls
    exports: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], CsvExport] = Field(
        default_factory=dict
    )
    accounts: list[CsvAccount] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _known_exports(cls, accounts: list[CsvAccount], info: ValidationInfo) -> list[CsvAccount]:
        account_ids(
            accounts,
            r"[A-Za-z0-9][A-Za-z0-9_.-]*",
            "a CSV export account id names its inbox folder: a letter or digit, then letters, "
            "digits, ., - or _",
        )
        if "exports" not in info.data:
            return accounts  # the exports themselves are invalid: that error says why
        exports = info.data["exports"]
        for i, account in enumerate(accounts):
            for name in account.exports:
                if name not in exports:
                    known = ", ".join(exports) or "none declared"
                    raise ValueError(
                        f"[{i}].exports: unknown export type {name!r} (known: {known})"
                    )
        return accounts


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=90,
    name="CSV exports",
    settings=CsvExportSource,
    schemas=SCHEMAS,
    hooks_at="connectors.csv_export:HOOKS",
    concurrent_requests=2,  # local files: a little parallelism
    names={"linkedin": "LinkedIn", "x": "X"},
    needs_credentials=False,
)
