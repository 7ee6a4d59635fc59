"""Landing files: one Parquet file per (source, stream, account, window, run), written once.

Layout: <root>/source=<s>/stream=<t>/account=<a>/window=<start>_<end>/<run>__<uuid>.parquet
A file appears whole or not at all (written beside, fsync'd, then renamed). Nothing is
ever rewritten: a re-run writes a new file and staging keeps the latest value per key.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.streams import ExtractResult, Window

_SAFE = re.compile(r"[^A-Za-z0-9_.:=-]+")


def _safe(part: str) -> str:
    return _SAFE.sub("_", part)[:120]


@dataclass(frozen=True)
class LandingFile:
    path: Path
    source: str
    stream: str
    account_id: str

    @classmethod
    def parse(cls, root: Path, path: Path) -> LandingFile:
        parts = dict(p.split("=", 1) for p in path.relative_to(root).parts[:-1] if "=" in p)
        return cls(path, parts["source"], parts["stream"], parts["account"])


def write_table(
    root: Path, source: str, stream: str, account_id: str, window: str, run_id: str, table: pa.Table
) -> Path:
    folder = (
        root
        / f"source={source}"
        / f"stream={stream}"
        / f"account={_safe(account_id)}"
        / f"window={window}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{_safe(run_id)}__{uuid.uuid4().hex[:12]}.parquet"
    tmp = folder / f".{final.name}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def write_result(root: Path, result: ExtractResult, run_id: str) -> list[Path]:
    """Land every stream of one extraction; the extract log goes last, as the commit mark."""
    names = sorted(result.tables, key=lambda n: n == "extract_log")
    return [
        write_table(
            root,
            result.platform,
            name,
            result.account_id,
            str(result.window),
            run_id,
            result.tables[name],
        )
        for name in names
    ]


def list_files(root: Path) -> list[LandingFile]:
    """Every complete landing file, oldest name first (temporary files are skipped)."""
    if not root.exists():
        return []
    return [
        LandingFile.parse(root, p)
        for p in sorted(root.glob("source=*/stream=*/account=*/window=*/*.parquet"))
    ]


def completed_windows(root: Path, source: str, account_id: str) -> list[Window]:
    """Windows whose metrics have landed completely (their extract_log is the commit mark)."""
    folder = root / f"source={source}" / "stream=extract_log" / f"account={_safe(account_id)}"
    out = []
    for window_dir in sorted(folder.glob("window=*")) if folder.exists() else []:
        if any(window_dir.glob("*.parquet")):
            start, end = window_dir.name.removeprefix("window=").split("_")
            out.append(Window(date.fromisoformat(start), date.fromisoformat(end)))
    return out
