"""Run one of the report's SQL files (reports/sql/<name>.sql) with the DuckDB $parameters it uses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

SQL = Path(__file__).resolve().parent / "sql"


def query(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, object]) -> pd.DataFrame:
    sql = (SQL / f"{name}.sql").read_text(encoding="utf-8")
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.execute(sql, used).df()
