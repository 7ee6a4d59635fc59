"""The loader when a stream gains a column: landing files written before it still load."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from connectors import social
from connectors.instagram import settings as ig_settings
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.warehouse import connect, open_warehouse
from models.runner import MODELS_DIR
from transforms.landing import write_table

ACCOUNT = "17841400000000001"
# raw.instagram__account_daily before Instagram's account views were landed
OLD_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("date", pa.date32()),
        ("reach", pa.int64()),
        ("follower_count", pa.int64()),
        *social.RUN,
    ]
)


def _config(tmp_path: Path):
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        f"paths: {{landing: {tmp_path / 'landing'}, warehouse: {tmp_path / 'w.duckdb'}}}\n"
        "sources:\n  instagram:\n    accounts:\n"
        f"      - {{id: '{ACCOUNT}', name: Test, timezone: UTC, conn_id: ig}}\n",
        encoding="utf-8",
    )
    return load_config(path)


def _day(day: date, run: str, **metrics) -> dict:
    moment = datetime(2026, 11, day.day, 6, tzinfo=UTC)
    return {"account_id": ACCOUNT, "date": day, **metrics, "extracted_at": moment, "run_id": run}


def test_landing_files_from_before_a_new_column_still_load_and_stage_it_as_null(tmp_path):
    cfg = _config(tmp_path)
    landing = cfg.paths.landing
    # a warehouse whose raw table was created before the column existed, with a row in it
    with open_warehouse(cfg.paths.warehouse) as con:
        con.execute(
            "create table raw.instagram__account_daily (account_id varchar, date date, "
            "reach bigint, follower_count bigint, extracted_at timestamptz, run_id varchar, "
            "landing_file varchar)"
        )
        con.execute(
            "insert into raw.instagram__account_daily values "
            "(?, date '2026-11-01', 900, 4, timestamptz '2026-11-02 06:00:00+00', 'r0', 'x')",
            [ACCOUNT],
        )
    # a landing file written before the column: loaded alone, staging still builds
    old = [_day(date(2026, 11, 2), "r1", reach=800, follower_count=3)]
    write_table(landing, "instagram", "account_daily", ACCOUNT, "w", "r1",
                pa.Table.from_pylist(old, schema=OLD_SCHEMA))  # fmt: skip
    assert pipeline.load(cfg).rows == 1
    assert _staged(cfg) == [
        (date(2026, 11, 1), None, 900, 4),
        (date(2026, 11, 2), None, 800, 3),
    ]
    # then one written with it
    new = [_day(date(2026, 11, 3), "r2", reach=700, follower_count=2, views=5400)]
    table = pa.Table.from_pylist(new, schema=ig_settings.SCHEMAS["account_daily"])
    write_table(landing, "instagram", "account_daily", ACCOUNT, "w", "r2", table)
    assert pipeline.load(cfg).rows == 1
    assert _staged(cfg)[2:] == [(date(2026, 11, 3), 5400, 700, 2)]


def _staged(cfg) -> list[tuple]:
    """stg_instagram__account_daily's rows, its SQL run on the warehouse as it is."""
    sql = (MODELS_DIR / "staging" / "stg_instagram__account_daily.sql").read_text()
    with connect(cfg.paths.warehouse, read_only=True) as con:
        return con.sql(
            f"select date, views, reach, followers_gained from ({sql}) order by date"
        ).fetchall()
