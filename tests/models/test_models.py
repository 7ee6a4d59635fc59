"""Models on tiny hand-made inputs with known answers, landed and loaded the real way."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from connectors.youtube.settings import SCHEMAS, VIDEO_METRICS
from contentpulse.warehouse import open_warehouse
from models.runner import discover
from tests.models.builds import build
from tests.models.conftest import ACCOUNT
from transforms.landing import write_table
from transforms.load import load

T0 = datetime(2026, 9, 1, 12, tzinfo=UTC)


def land(cfg, stream: str, rows: list[dict], extracted_at: datetime, run: str = "r") -> None:
    for row in rows:
        row.setdefault("account_id", ACCOUNT)
        row.setdefault("extracted_at", extracted_at)
        row.setdefault("run_id", run)
    table = pa.Table.from_pylist(rows, schema=SCHEMAS[stream])
    write_table(cfg.paths.landing, "youtube", stream, ACCOUNT, "w", run, table)


def item(item_id: str, published: datetime, fmt: str = "video") -> dict:
    return {
        "item_id": item_id,
        "title": f"title {item_id}",
        "description": "",
        "tags": [],
        "links": [],
        "published_at": published,
        "duration_s": 30 if fmt == "short" else 600,
        "format": fmt,
        "url": f"https://youtu.be/{item_id}",
        "view_count": 0,
        "like_count": 0,
        "comment_count": 0,
        "raw_json": "{}",
    }


def day(item_id: str, d: date, views: int) -> dict:
    row = {m: 0 for m in VIDEO_METRICS}
    row.update(item_id=item_id, date=d, views=views, averageViewPercentage=50.0)
    return row


def daily_series(item_id: str, published: datetime, d7_total: int, days: int = 10) -> list[dict]:
    """Days 0..days-1; the first seven add up to d7_total."""
    first = [d7_total // 7] * 7
    first[0] += d7_total - sum(first)
    views = first + [1] * (days - 7)
    return [day(item_id, published.date() + timedelta(days=i), v) for i, v in enumerate(views)]


def run_build(cfg):
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        return {
            name: con.sql(f"select * from marts.{name}").df()
            for name in ("posts", "post_daily", "post_performance")
        }


def test_restated_day_replaces_never_adds(cfg):
    published = T0
    land(cfg, "content_items", [item("v1", published)], T0)
    land(cfg, "content_daily", [day("v1", published.date(), 100)], T0 + timedelta(days=1), "night1")
    land(cfg, "content_daily", [day("v1", published.date(), 130)], T0 + timedelta(days=2), "night2")
    marts = run_build(cfg)
    rows = marts["post_daily"]
    assert len(rows) == 1 and rows.views.iloc[0] == 130
    assert marts["post_performance"].views.iloc[0] == 130


def test_a_late_extraction_of_old_values_does_not_win_over_a_newer_one(cfg):
    land(cfg, "content_items", [item("v1", T0)], T0)
    land(cfg, "content_daily", [day("v1", T0.date(), 130)], T0 + timedelta(days=2), "b")
    land(cfg, "content_daily", [day("v1", T0.date(), 100)], T0 + timedelta(days=1), "a")
    assert run_build(cfg)["post_daily"].views.iloc[0] == 130


def test_index_of_a_post_exactly_at_the_peer_median_is_zero(cfg):
    peers = [10 * 7, 20 * 7, 30 * 7, 40 * 7, 50 * 7]  # median 210
    items, daily = [], []
    for i, total in enumerate(peers):
        published = T0 + timedelta(days=i)
        items.append(item(f"p{i}", published))
        daily += daily_series(f"p{i}", published, total, days=20)
    target = T0 + timedelta(days=6)
    items.append(item("target", target))
    daily += daily_series("target", target, 210, days=14)
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    perf = run_build(cfg)["post_performance"].set_index("item_id")
    row = perf.loc["target"]
    assert row.views_d7 == 210 and row.peer_median_d7 == 210 and row.peer_count == 5
    assert row.performance_index == 0.0
    assert row.peer_group == "account_format" and row.performance_band == "typical"
    # p4 has only four earlier peers (fewer than 5, in the account and in the portfolio): no index
    assert pd.isna(perf.loc["p4"].peer_group) and pd.isna(perf.loc["p4"].performance_index)


def test_views_at_age_7_wait_until_the_data_reaches_day_6(cfg):
    land(cfg, "content_items", [item("old", T0), item("young", T0 + timedelta(days=5))], T0)
    land(
        cfg,
        "content_daily",
        daily_series("old", T0, 700, days=10)
        + [day("young", (T0 + timedelta(days=5 + i)).date(), 5) for i in range(5)],
        T0,
    )
    perf = run_build(cfg)["post_performance"].set_index("item_id")
    assert perf.loc["old"].views_d7 == 700
    assert perf.loc["young"].age_days == 4 and pd.isna(perf.loc["young"].views_d7)


def test_every_model_has_docs_and_a_grain():
    for model in discover():
        assert model.description, model.table
        assert model.grain, model.table
        assert {c.name for c in model.columns} >= set(model.grain), model.table


def channel_day(d: date, views: int, gained: int = 0, lost: int = 0) -> dict:
    return {
        "date": d,
        "views": views,
        "estimatedMinutesWatched": views,
        "subscribersGained": gained,
        "subscribersLost": lost,
    }


def test_account_weekly_sums_iso_weeks_and_compares_with_the_week_before(cfg):
    monday = date(2026, 11, 2)  # ISO week 2026-W45
    days = [channel_day(monday + timedelta(days=i), 100, gained=3, lost=1) for i in range(7)]
    days += [channel_day(monday + timedelta(days=7 + i), 150) for i in range(7)]  # W46
    days += [channel_day(monday + timedelta(days=21), 80)]  # W48 (W47 has no data), one day
    land(cfg, "account_daily", days, T0)
    published = datetime(2026, 11, 10, 9, tzinfo=UTC)  # a Tuesday of W46
    land(cfg, "content_items", [item("a", published), item("b", published)], T0)
    land(cfg, "content_daily", [day("a", published.date(), 1), day("b", published.date(), 1)], T0)
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        weeks = (
            con.sql("select * from marts.account_weekly order by week_start")
            .df()
            .set_index("iso_week")
        )
    assert list(weeks.index) == ["2026-W45", "2026-W46", "2026-W48"]
    w45, w46, w48 = (weeks.loc[w] for w in weeks.index)
    assert (w45.views, w45.watch_time_s, w45.followers_net, w45.is_complete) == (
        700,
        700 * 60,
        14,
        True,
    )
    assert (w46.views, w46.views_prev_week, w46.posts_published) == (1050, 700, 2)
    assert w46.views_wow_change == pytest.approx(0.5)
    assert pd.isna(w48.views_prev_week) and not w48.is_complete  # W47 is missing, not "zero"


def test_percentile_and_robust_z_within_peers(cfg):
    peers = [70, 140, 210, 280, 350]
    items, daily = [], []
    for i, total in enumerate(peers):
        published = T0 + timedelta(days=i)
        items.append(item(f"p{i}", published))
        daily += daily_series(f"p{i}", published, total, days=20)
    for name, total, offset in (("typical", 210, 6), ("breakout", 21_000, 7)):
        published = T0 + timedelta(days=offset)
        items.append(item(name, published))
        daily += daily_series(name, published, total, days=12)
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    perf = run_build(cfg)["post_performance"].set_index("item_id")
    typical = perf.loc["typical"]
    assert typical.peer_percentile == 0.5 and typical.robust_z == 0.0 and not typical.is_outlier
    logs = [math.log(v + 1) for v in peers]
    breakout = perf.loc["breakout"]  # its peers are the five plus "typical"
    six = sorted([*logs, math.log(211)])
    median6 = (six[2] + six[3]) / 2
    mad6 = sorted(abs(x - median6) for x in six)
    mad6 = (mad6[2] + mad6[3]) / 2
    assert breakout.peer_percentile == 1.0
    assert breakout.robust_z == pytest.approx(0.6745 * (math.log(21_001) - median6) / mad6)
    assert breakout.is_outlier


def test_every_documented_column_carries_its_description_as_a_comment(cfg):
    """The comments are sent as one script per model: every table's and view's description,
    and every documented table column's, lands exactly, quotes and semicolons included."""
    land(cfg, "content_items", [item("v1", T0)], T0)
    land(cfg, "content_daily", [day("v1", T0.date(), 10)], T0)
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        build(con)  # incremental: a table kept from the first build keeps its comments
        tables = dict(
            con.execute(
                "select schema_name || '.' || table_name, comment from duckdb_tables() "
                "union all select schema_name || '.' || view_name, comment from duckdb_views()"
            ).fetchall()
        )
        columns = {
            (f"{s}.{t}", c): comment
            for s, t, c, comment in con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns()"
            ).fetchall()
        }
    documented = 0
    for model in discover():
        assert tables[model.table] == model.description, model.table
        for column in model.columns:
            if column.description and model.materialized != "view":
                assert columns[(model.table, column.name)] == column.description, (
                    model.table,
                    column.name,
                )
                documented += 1
    assert documented > 500
    assert any("'" in c.description or ";" in c.description for m in discover() for c in m.columns)
