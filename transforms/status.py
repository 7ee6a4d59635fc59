"""The pipeline's state per account, without SQL: what `contentpulse status` shows.

Every extraction of an account lands one `run_log` record beside its data (the landing is
the one place every extract task writes, on any machine): when it ran, whether it finished,
its one-line cause if not, and the calls and quota it spent. `account_status` reads those
records and the account's extract logs from the landing, and the estimated share from the
published snapshot, so it needs no lock and works while a night is running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from contentpulse.config import Lake
from contentpulse.streams import Window
from transforms.landing import LandingStore, read_landed, write_table

RUN_LOG = "run_log"
RUN_LOG_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("window_start", pa.date32()),
        ("window_end", pa.date32()),
        ("ok", pa.bool_()),
        ("error", pa.string()),
        ("calls", pa.int64()),
        ("quota_units", pa.int64()),
        ("units_done", pa.int64()),
        ("units_total", pa.int64()),
    ]
)
# the extract-log column that says how far a unit's data is complete, per platform
_COMPLETE_THROUGH = ("last_date_returned", "snapshot_date", "window_end")


@dataclass
class RunRecord:
    """One extraction of one account, as `run_log` lands it."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    window: Window
    error: str | None
    calls: int
    quota_units: int
    units_done: int
    units_total: int


def write_run_record(store: LandingStore, platform: str, account_id: str, run: RunRecord) -> None:
    row = {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "window_start": run.window.start,
        "window_end": run.window.end,
        "ok": run.error is None,
        "error": run.error,
        "calls": run.calls,
        "quota_units": run.quota_units,
        "units_done": run.units_done,
        "units_total": run.units_total,
    }
    table = pa.Table.from_pylist([row], schema=RUN_LOG_SCHEMA)
    write_table(store, platform, RUN_LOG, account_id, str(run.window), run.run_id, table)


@dataclass
class AccountStatus:
    platform: str
    account_id: str
    name: str
    newest_complete_day: date | None  # the newest day whose figures have landed complete
    last_success_at: datetime | None
    last_success_run: str | None
    last_failure_at: datetime | None
    last_failure: str | None  # its one-line cause
    last_run_calls: int | None
    last_run_quota: int | None  # quota units (YouTube), property tokens... as the API counts
    next_reads: str  # the days the next night re-reads, and a gap it will not
    estimated_share_7d: float | None  # of the last 7 published days' views; None: none apply

    def as_json(self) -> dict:
        return {
            k: v.isoformat() if isinstance(v, date | datetime) else v
            for k, v in asdict(self).items()
        }


def _newest(table: pa.Table | None, column: str, where: str | None = None) -> dict | None:
    if table is None or table.num_rows == 0:
        return None
    rows = table.to_pylist()
    if where is not None:
        rows = [r for r in rows if r[where]]
    return max(rows, key=lambda r: r[column]) if rows else None


def account_status(
    store: LandingStore,
    platform: str,
    account_id: str,
    name: str,
    next_window: Window | str,
    estimated_share: float | None,
) -> AccountStatus:
    """One account's row: what landed, the last run that finished and the last that failed."""
    runs = read_landed(store, platform, RUN_LOG, account_id, RUN_LOG_SCHEMA.names)
    last = _newest(runs, "finished_at")
    ok = _newest(runs, "finished_at", where="ok")
    failed = None
    if runs is not None:
        failures = [r for r in runs.to_pylist() if not r["ok"]]
        failed = max(failures, key=lambda r: r["finished_at"]) if failures else None
    newest_day = None
    for column in _COMPLETE_THROUGH:
        try:
            logs = read_landed(store, platform, "extract_log", account_id, [column])
        except (pa.ArrowInvalid, KeyError):
            continue  # this platform's log has no such column
        if logs is not None and logs.num_rows:
            days = [d for d in logs.column(column).to_pylist() if d is not None]
            newest_day = max(days) if days else None
            break
    reads = (
        next_window if isinstance(next_window, str) else f"{next_window.start}..{next_window.end}"
    )
    if isinstance(next_window, Window) and newest_day and (next_window.start - newest_day).days > 1:
        reads += f"; {newest_day + timedelta(days=1)} onwards is a gap (contentpulse backfill)"
    return AccountStatus(
        platform=platform,
        account_id=account_id,
        name=name,
        newest_complete_day=newest_day,
        last_success_at=ok["finished_at"] if ok else None,
        last_success_run=ok["run_id"] if ok else None,
        last_failure_at=failed["finished_at"] if failed else None,
        last_failure=failed["error"] if failed else None,
        last_run_calls=last["calls"] if last else None,
        last_run_quota=last["quota_units"] if last else None,
        next_reads=reads,
        estimated_share_7d=estimated_share,
    )


def estimated_shares(snapshot: Path | Lake) -> dict[tuple[str, str], float]:
    """Per (platform, account): the estimated share of the last 7 published days' views,
    for the accounts where estimates apply (marts.data_quality); empty without a snapshot
    file (a DuckLake snapshot is attached: its catalog says)."""
    from contentpulse.warehouse import open_snapshot

    if isinstance(snapshot, Path) and not snapshot.exists():
        return {}
    sql = (Path(__file__).parent / "sql" / "estimated_share.sql").read_text(encoding="utf-8")
    with open_snapshot(snapshot) as con:
        rows = con.execute(sql).fetchall()
    return {(p, a): float(share) for p, a, share in rows if share is not None}
