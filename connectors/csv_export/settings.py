"""CSV export constants: what counts as empty, which files are never read, landing schemas.

The streams are already in unified names (an export type's `columns` mapping declares
them), and every row carries the `platform` of its export type (linkedin, x, ...), the
export type and the file it came from, so any number can be traced back to its line.
"""

import pyarrow as pa

from contentpulse.config import CSV_METRICS

PLATFORM = "csv_export"
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
