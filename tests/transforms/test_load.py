"""The loader: landing files -> raw tables, all or nothing, each file once; files written
before a stream gained a column still load; landing folder names never become columns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from connectors import social
from connectors.instagram import settings as ig_settings
from connectors.youtube.settings import SCHEMAS as YOUTUBE_SCHEMAS
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import connect, open_warehouse
from models.runner import MODELS_DIR
from transforms.landing import write_table
from transforms.load import account_rows, load, raw_table

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


def test_a_corrupt_landing_file_is_named_and_nothing_is_half_loaded(cfg, sandbox):
    pipeline.extract(
        cfg, {"youtube": pipeline.night_window(cfg, "youtube", sandbox.portfolio.end)}, "night"
    )
    files = sorted(cfg.paths.landing.rglob("*.parquet"))
    victim = next(f for f in files if "stream=content_daily" in str(f))
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(ContentpulseError) as err:
        pipeline.load(cfg)
    assert str(victim.relative_to(cfg.paths.landing)) in str(err.value) and "unreadable" in str(
        err.value
    )
    with connect(cfg.paths.warehouse, read_only=True) as con:
        assert con.sql("select count(*) from meta.loaded_files").fetchall() == [(0,)]
        raw = con.sql("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        for (table,) in raw:
            assert con.sql(f"select count(*) from raw.{table}").fetchall() == [(0,)], table


def test_loading_twice_loads_nothing_new(cfg, sandbox):
    pipeline.extract(
        cfg, {"youtube": pipeline.night_window(cfg, "youtube", sandbox.portfolio.end)}, "night"
    )
    assert pipeline.load(cfg).rows > 0
    again = pipeline.load(cfg)
    assert (again.rows, again.detail) == (0, "0 landing files")


T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.fixture
def youtube_cfg(tmp_path: Path):
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        "sources:\n  youtube:\n    accounts:\n"
        "      - {id: UCtest, name: Test, timezone: UTC, conn_id: yt}\n",
        encoding="utf-8",
    )
    return load_config(path)


def land(cfg, stream: str, rows: list[dict], extracted_at: datetime, run: str = "r") -> None:
    for row in rows:
        row.setdefault("account_id", "UCtest")
        row.setdefault("extracted_at", extracted_at)
        row.setdefault("run_id", run)
    table = pa.Table.from_pylist(rows, schema=YOUTUBE_SCHEMAS[stream])
    write_table(cfg.paths.landing, "youtube", stream, "UCtest", "w", run, table)


def item(item_id: str, published: datetime) -> dict:
    return {
        "item_id": item_id,
        "title": f"title {item_id}",
        "description": "",
        "tags": [],
        "links": [],
        "published_at": published,
        "duration_s": 600,
        "format": "video",
        "url": f"https://youtu.be/{item_id}",
        "view_count": 0,
        "like_count": 0,
        "comment_count": 0,
        "raw_json": "{}",
    }


def test_landing_folder_names_never_overwrite_columns(youtube_cfg):
    """Landing paths look like source=youtube/stream=.../account=...: read as data, the
    folder `source=youtube` would replace the traffic `source` column."""
    cfg = youtube_cfg
    land(cfg, "content_items", [item("v1", T0)], T0)
    land(
        cfg,
        "traffic_daily",
        [{"item_id": "v1", "date": T0.date(), "source": "YT_SEARCH", "views": 5}],
        T0,
    )
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        assert con.sql("select source from raw.youtube__traffic_daily").fetchall() == [
            ("YT_SEARCH",)
        ]
        columns = {r[0] for r in con.sql("describe raw.youtube__traffic_daily").fetchall()}
        assert not columns & {"account", "stream", "window"}


def test_a_raw_table_is_named_from_plain_source_and_stream_names_only():
    assert raw_table("youtube", "content_daily") == "raw.youtube__content_daily"
    for source, stream in (("you tube", "x"), ("youtube", "daily; drop table x"), ("", "x")):
        with pytest.raises(ContentpulseError, match="invalid source/stream name"):
            raw_table(source, stream)


def test_meta_accounts_has_a_csv_export_account_under_each_platform_its_exports_carry(tmp_path):
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        """
sources:
  youtube:
    accounts: [{id: UCtest, name: Test, timezone: UTC, conn_id: yt}]
  csv_export:
    inbox: inbox
    exports:
      li: {platform: linkedin, match: "*li*.csv", columns: {item_id: id, published_at: at}}
      tw: {platform: x, match: "*x*.csv", columns: {item_id: id, published_at: at}}
    accounts:
      - {id: north, name: North, timezone: Europe/London, exports: [tw, li]}
""",
        encoding="utf-8",
    )
    assert account_rows(load_config(path)) == [
        ["youtube", "UCtest", "Test", "UTC"],
        ["csv_export", "north", "North", "Europe/London"],
        ["linkedin", "north", "North", "Europe/London"],
        ["x", "north", "North", "Europe/London"],
    ]
