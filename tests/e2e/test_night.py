"""The whole night against the sandbox: exact ground truth, idempotent re-runs, restatements,
and checks that block publication. (The load itself: tests/transforms/test_load.py.)"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from contentpulse import pipeline
from contentpulse.errors import CheckFailed, ContentpulseError
from contentpulse.warehouse import connect, open_warehouse
from tests.conftest import CLOCK

MARTS = ("marts.posts", "marts.post_daily", "marts.post_performance")


def checksums(path, tables=MARTS) -> dict[str, tuple]:
    """Order-independent fingerprint of every row of each table."""
    with connect(path, read_only=True) as con:
        return {
            t: con.sql(f"select count(*), sum(hash(x)) from {t} as x").fetchall()[0] for t in tables
        }


def staged_daily(cfg):
    with connect(cfg.paths.warehouse, read_only=True) as con:
        return con.sql(
            "select account_id, item_id, date, views, likes, followers_gained "
            "from staging.stg_youtube__video_daily"
        ).df()


def assert_equals_truth(cfg, sandbox, clock):
    truth = sandbox.portfolio.content_daily_truth(clock)
    truth["date"] = pd.to_datetime(truth["date"]).astype("datetime64[us]")
    got = staged_daily(cfg)
    assert len(got) == len(truth) > 1000
    truth = truth.rename(columns={"subscribersGained": "followers_gained"})
    merged = got.merge(truth, on=["account_id", "item_id", "date"], suffixes=("", "_truth"))
    assert len(merged) == len(truth)
    for metric in ("views", "likes", "followers_gained"):
        assert (merged[metric] == merged[f"{metric}_truth"]).all(), metric


@pytest.fixture
def backfilled(cfg, sandbox):
    steps = pipeline.backfill(
        cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False
    )
    assert [s.step for s in steps] == ["extract", "load", "build", "check", "publish"]
    assert not any(s.errors for s in steps)
    return cfg


def test_backfill_lands_every_video_day_the_sandbox_holds(backfilled, sandbox):
    assert_equals_truth(backfilled, sandbox, CLOCK)
    with connect(backfilled.paths.analytics, read_only=True) as con:
        readme = dict(con.sql("select name, description from readme").fetchall())
        comment = con.sql(
            "select comment from duckdb_columns() where table_name = 'post_performance' "
            "and column_name = 'performance_index'"
        ).fetchall()[0][0]
    assert set(MARTS) <= set(readme) and all(readme[t] for t in MARTS)
    assert comment.startswith("ln((views_d7 + 1)")


def test_running_the_same_night_twice_changes_nothing(backfilled, sandbox):
    night = sandbox.portfolio.end
    pipeline.run_night(backfilled, night, with_report=False)
    first = checksums(backfilled.paths.analytics)
    pipeline.run_night(backfilled, night, with_report=False)
    assert checksums(backfilled.paths.analytics) == first
    assert checksums(backfilled.paths.warehouse) == first


def test_restated_days_win_on_the_next_night(backfilled, sandbox):
    before = staged_daily(backfilled).set_index(["item_id", "date"])
    sandbox.clock = CLOCK + timedelta(days=1)  # the provisional last day becomes final
    pipeline.run_night(backfilled, sandbox.portfolio.end, with_report=False)
    assert_equals_truth(backfilled, sandbox, sandbox.clock)
    after = staged_daily(backfilled).set_index(["item_id", "date"]).reindex(before.index)
    last = pd.Timestamp(sandbox.portfolio.end)
    changed = after.views != before.views
    assert changed.any()
    assert {d for (_, d) in changed[changed].index} == {last}


def test_a_failed_check_blocks_publish_and_keeps_the_last_snapshot(backfilled):
    published = checksums(backfilled.paths.analytics)
    with open_warehouse(backfilled.paths.warehouse) as con:
        con.execute("insert into marts.post_daily select * from marts.post_daily limit 2")
    with pytest.raises(CheckFailed) as err:
        pipeline.check(backfilled, CLOCK)
    message = str(err.value)
    assert (
        "marts.post_daily: ExpectCompoundColumnsToBeUnique(column_list=['platform', 'account_id', 'item_id', 'date'])"
        in message
    )
    assert "failed on 4 of" in message and "publish is blocked" in message and "\n" not in message
    with pytest.raises(
        ContentpulseError, match="failed its checks; the last published snapshot stays"
    ):
        pipeline.publish(backfilled)
    assert checksums(backfilled.paths.analytics) == published


def test_newest_days_are_marked_provisional_and_channel_counters_are_snapshotted(
    backfilled, sandbox
):
    end = sandbox.portfolio.end
    with connect(backfilled.paths.warehouse, read_only=True) as con:
        provisional = con.sql(
            "select distinct date from marts.post_daily where is_provisional order by 1"
        ).fetchall()
        snapshots = dict(
            con.sql(
                "select account_id, followers from staging.stg_youtube__channel_snapshots"
            ).fetchall()
        )
        last = con.sql(
            "select distinct last_date_returned from staging.stg_youtube__extractions "
            "where window_end = (select max(window_end) from staging.stg_youtube__extractions)"
        ).fetchall()
    assert [d for (d,) in provisional] == [end - timedelta(days=1), end]
    assert last == [(end,)]
    assert snapshots == {
        c.channel_id: sandbox.portfolio.channel_subscribers(c, CLOCK)
        for c in sandbox.portfolio.channels
    }


def test_anomalies_find_the_resurfaced_videos_and_the_source_that_drove_them(backfilled, sandbox):
    truth = sandbox.portfolio.resurfacings()
    first_days = {
        (video, day)
        for video, day, _ in truth
        if (video, day - timedelta(days=1)) not in {(v, d) for v, d, _ in truth}
    }
    assert first_days
    with connect(backfilled.paths.analytics, read_only=True) as con:
        found = con.sql(
            "select item_id, date, direction, driver_source from marts.anomalies where level = 'item'"
        ).fetchall()
    spikes = {(item, day): source for item, day, direction, source in found if direction == "spike"}
    assert first_days <= spikes.keys()
    assert {spikes[k] for k in first_days} == {"EXT_URL"}
    burst_days = {(video, day) for video, day, _ in truth}
    false_alarms = [k for k in spikes if k not in burst_days]
    print(
        f"\nitem anomalies: {len(spikes)} found, {len(first_days)} bursts, {len(false_alarms)} false"
    )
    assert len(false_alarms) <= len(first_days)


def test_the_marts_equal_the_sandboxs_ground_truth(backfilled, sandbox):
    """Lifetime views per item, day-7 views and content families, against the portfolio."""
    truth = sandbox.portfolio.content_daily_truth(CLOCK)
    lifetime = truth.groupby("item_id").views.sum()
    families = sandbox.portfolio.families()
    with connect(backfilled.paths.analytics, read_only=True) as con:
        perf = con.sql("select item_id, views from post_performance").df().set_index("item_id")
        posts = con.sql("select item_id, family_id from posts").df()
    assert (
        perf.views.sort_index().to_dict()
        == lifetime.reindex(perf.index).fillna(0).astype(int).sort_index().to_dict()
    )

    def pairs(mapping: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = {}
        for item, family in mapping.items():
            groups.setdefault(family, []).append(item)
        return {(a, b) for g in groups.values() for a in g for b in g if a < b}

    found = pairs(dict(zip(posts.item_id, posts.family_id, strict=True)))
    expected = pairs({item: families[item] for item in posts.item_id})
    assert expected and found == expected
