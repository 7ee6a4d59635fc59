"""One fingerprint of the marts, for the tests that compare two warehouses or two snapshots
(re-runs, backfills, kills, Celery against LocalExecutor, an object store against a disk)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from contentpulse.warehouse import connect

# Bookkeeping columns that say when and how often the data was read, not what it holds:
# they change with every extraction by design, so the comparisons leave them out.
PROVENANCE = {"data_quality": ("last_extracted_at", "max_extractions")}


def mart_checksums(path: Path, exclude: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """{marts table: "<rows>:<sha256>"} of a warehouse or a published snapshot: every row
    cast to text in DuckDB (one fixed rendering of numbers, dates and NULLs), the rows
    sorted, then hashed. `exclude`: columns left out, per table (default: PROVENANCE)."""
    exclude = PROVENANCE if exclude is None else exclude
    with connect(path, read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert tables, f"{path} has no marts"
        out = {}
        for table in tables:
            left_out = ", ".join(f'"{c}"' for c in exclude.get(table, ()))
            star = f"* exclude ({left_out})" if left_out else "*"
            rows = con.execute(
                f"select cast(x as varchar) from (select {star} from marts.{table}) as x"
            ).fetchall()
            digest = hashlib.sha256()
            for (row,) in sorted(rows):
                digest.update(row.encode())
                digest.update(b"\n")
            out[table] = f"{len(rows)}:{digest.hexdigest()}"
    return out
