"""An incremental night touches only the new and restated days, and equals a full rebuild."""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
import pytest

from contentpulse.warehouse import open_warehouse
from tests.models.builds import build
from tests.models.test_models import T0, day, item, land
from transforms.load import load


def account_day(d, views: int) -> dict:
    return {
        "date": d,
        "views": views,
        "estimatedMinutesWatched": views,
        "subscribersGained": 1,
        "subscribersLost": 0,
    }


def snapshot(con) -> dict[str, pd.DataFrame]:
    tables = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where schema_name in ('staging', 'intermediate', 'marts') order by 1"
    ).fetchall()
    return {t: con.sql(f"select * from {t} order by all").df() for (t,) in tables}


def test_an_incremental_night_equals_a_full_rebuild(cfg):
    items = [
        item(f"v{i}", T0 + timedelta(days=2 * i), "short" if i % 2 else "video") for i in range(8)
    ]
    land(cfg, "content_items", items, T0)
    first = [
        day(f"v{i}", (T0 + timedelta(days=d)).date(), 100 + 7 * i + d)
        for i in range(8)
        for d in range(2 * i, 21)
    ]
    land(cfg, "content_daily", first, T0 + timedelta(days=21), "night1")
    land(
        cfg,
        "account_daily",
        [account_day((T0 + timedelta(days=d)).date(), 1000 + d) for d in range(21)],
        T0 + timedelta(days=21),
        "night1",
    )
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        assert build(con).mode == "full"

        # the next night: days 18-20 restated upward, days 21-22 new, and a new upload
        land(
            cfg,
            "content_items",
            [*items, item("v8", T0 + timedelta(days=21))],
            T0 + timedelta(days=23),
        )
        second = [
            day(f"v{i}", (T0 + timedelta(days=d)).date(), 150 + 7 * i + d)
            for i in range(9)
            for d in range(max(18, 2 * i), 23)
        ]
        land(cfg, "content_daily", second, T0 + timedelta(days=23), "night2")
        load(cfg, con)
        night = build(con)
        assert night.mode == "incremental"
        # the earliest restated day, capped at three days before the newest day built (20)
        assert night.since == (T0 + timedelta(days=17)).date()
        incremental = snapshot(con)

        restated = con.sql(
            "select views from marts.post_daily where item_id = 'v1' and date = ?",
            params=[(T0 + timedelta(days=18)).date()],
        ).fetchall()
        assert restated == [(150 + 7 + 18,)]
        cumulative = con.sql(
            "select max(cumulative_views), sum(views) from marts.post_daily where item_id = 'v1'"
        ).fetchall()[0]
        assert cumulative[0] == cumulative[1]

        assert build(con, full=True).mode == "full"
        full = snapshot(con)
    assert incremental.keys() == full.keys()
    for table, frame in full.items():
        pd.testing.assert_frame_equal(
            incremental[table], frame, check_exact=False, rtol=1e-12, obj=table
        )


def test_a_build_with_nothing_new_changes_nothing(cfg):
    land(cfg, "content_items", [item("v1", T0)], T0)
    land(cfg, "content_daily", [day("v1", T0.date(), 10)], T0, "n1")
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        before = snapshot(con)
        again = build(con)
        assert again.mode == "incremental" and again.since is None
        after = snapshot(con)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(after[table], frame, obj=table)


def test_a_changed_model_file_forces_a_full_build(cfg, tmp_path):
    import shutil

    from models.runner import MODELS_DIR

    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models, ignore=shutil.ignore_patterns("__pycache__"))
    land(cfg, "content_items", [item("v1", T0)], T0)
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        assert build(con, models).mode == "full"
        assert build(con, models).mode == "incremental"
        path = models / "marts" / "posts.sql"
        path.write_text(path.read_text() + "\n-- edited\n")
        assert build(con, models).mode == "full"


def extract_log(account: str, start, end) -> dict:
    return {
        "account_id": account,
        "window_start": start,
        "window_end": end,
        "last_date_returned": end,
        "calls": 1,
        "quota_units": 1,
        "retries": 0,
        "rows": 1,
    }


def test_an_account_catching_up_behind_another_flips_its_provisional_days(cfg):
    """A resumed backfill: one account is built far ahead while another's next chunk
    arrives; the lagging account's old provisional days must be redone too."""
    ahead, behind = "UCtest", "UCbehind"
    t1 = T0 + timedelta(days=40)
    land(cfg, "content_items", [item("a1", T0), {**item("b1", T0), "account_id": behind}], T0)
    days = [day("a1", (T0 + timedelta(days=d)).date(), 10 + d) for d in range(30)]
    days += [
        {**day("b1", (T0 + timedelta(days=d)).date(), 20 + d), "account_id": behind}
        for d in range(10)
    ]
    land(cfg, "content_daily", days, t1, "chunk1")
    land(
        cfg,
        "extract_log",
        [
            extract_log(ahead, T0.date(), (T0 + timedelta(days=29)).date()),
            {**extract_log(behind, T0.date(), (T0 + timedelta(days=9)).date())},
        ],
        t1,
        "chunk1",
    )
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        later = [
            {**day("b1", (T0 + timedelta(days=d)).date(), 20 + d), "account_id": behind}
            for d in range(10, 20)
        ]
        land(cfg, "content_daily", later, t1 + timedelta(hours=1), "chunk2")
        land(
            cfg,
            "extract_log",
            [
                extract_log(
                    behind, (T0 + timedelta(days=10)).date(), (T0 + timedelta(days=19)).date()
                )
            ],
            t1 + timedelta(hours=1),
            "chunk2",
        )
        load(cfg, con)
        assert build(con).mode == "incremental"
        provisional = con.sql(
            "select date from marts.post_daily where item_id = 'b1' and is_provisional order by 1"
        ).fetchall()
        assert [d for (d,) in provisional] == [(T0 + timedelta(days=d)).date() for d in (18, 19)]
        incremental = snapshot(con)
        build(con, full=True)
        full = snapshot(con)
    for table, frame in full.items():
        pd.testing.assert_frame_equal(incremental[table], frame, obj=table)


def test_a_build_that_stops_part_way_is_refused_until_the_next_finishes_it(cfg):
    """Each model commits on its own: a build that stops part-way leaves some models rebuilt
    and the rest as they were. Check and publish refuse that warehouse, naming where it
    stopped; the next build is full again when the stopped one was, and clears the mark."""
    from contentpulse.errors import CheckFailed, ContentpulseError
    from models.runner import BuildContext, unfinished_build
    from transforms.checks import run_checks
    from transforms.publish import publishable_build

    def identity_fails(con, context):
        raise ContentpulseError("identity: stopped here")

    land(cfg, "content_items", [item("v1", T0)], T0)
    land(cfg, "content_daily", [day("v1", T0.date(), 10)], T0, "n1")
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        assert unfinished_build(con) is None
        with pytest.raises(ContentpulseError, match="identity: stopped here"):
            build(con, context=BuildContext(identity=identity_fails))
        stopped = unfinished_build(con)
        assert stopped is not None
        assert re.fullmatch(
            r"the last build \(\w{8}, full\) stopped after \S+ \(\d+ of \d+ models\): "
            r"run `contentpulse build` again",
            stopped,
        ), stopped
        # the staging models committed before the identity model failed
        assert con.sql("select count(*) from staging.stg_youtube__video_daily").fetchall() == [(1,)]
        with pytest.raises(ContentpulseError, match="publish: nothing built yet"):
            publishable_build(con)

        build(con)  # finishes: the first build's mark goes
        assert unfinished_build(con) is None
        with pytest.raises(ContentpulseError, match="identity: stopped here"):
            build(con, full=True, context=BuildContext(identity=identity_fails))
        with pytest.raises(CheckFailed, match=re.escape(f"check: {unfinished_build(con)}")):
            run_checks(con, T0.date())
        with pytest.raises(ContentpulseError, match=re.escape(f"publish: {unfinished_build(con)}")):
            publishable_build(con)
        # nothing new landed and no model changed, yet the stopped build was full: so is this
        assert build(con).mode == "full"
        assert unfinished_build(con) is None
        assert build(con).mode == "incremental"
