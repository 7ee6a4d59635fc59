"""Publishing swaps the snapshot atomically: a reader holding the old file is not disturbed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

from contentpulse import pipeline
from contentpulse.warehouse import open_warehouse

READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.sql("select count(*) from marts.posts").fetchall()[0][0], flush=True)
    sys.stdin.readline()  # hold the old snapshot open while the test publishes
    print(con.sql("select count(*) from marts.posts").fetchall()[0][0], flush=True)
""")


def test_a_reader_keeps_its_snapshot_while_a_new_one_is_published(cfg, sandbox):
    pipeline.backfill(cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(cfg.paths.analytics)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        before = int(reader.stdout.readline())
        with open_warehouse(cfg.paths.warehouse) as con:  # a new build: one post fewer
            con.execute(
                "delete from raw.youtube__content_items where item_id = "
                "(select min(item_id) from raw.youtube__content_items)"
            )
        for step in (
            pipeline.build,
            lambda c: pipeline.check(c, sandbox.portfolio.end),
            pipeline.publish,
        ):
            step(cfg)
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    assert int(out) == before, "the open connection still reads the snapshot it opened"
    # another process opening the path now reads the new snapshot
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; print(duckdb.connect(sys.argv[1], "
            "read_only=True).sql('select count(*) from marts.posts').fetchall()[0][0])",
            str(cfg.paths.analytics),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(fresh.stdout) == before - 1
    assert not list(cfg.paths.analytics.parent.glob(".*.tmp")), "no temporary file left behind"


def test_a_held_back_source_keeps_its_last_published_rows_until_a_check_passes_it(tmp_path):
    import duckdb

    from tests.transforms.test_checks import NULLS_YAML, add_days, day, ig, new_build, run, spec
    from transforms.publish import publish

    target = tmp_path / "analytics.duckdb"

    def published(sql: str) -> list[tuple]:
        with duckdb.connect(str(target), read_only=True) as snap:
            return snap.execute(sql).fetchall()

    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        con.execute(
            "insert into meta.accounts values ('youtube', 'UCa', 'Alpha', 'UTC'), "
            "('instagram', '17841', 'Gamma', 'UTC')"
        )
        con.execute(
            "create table marts.daily (platform varchar, account_id varchar, item_id varchar, "
            "date date, views bigint, format varchar)"
        )
        con.execute("create table marts.families (family_id varchar, items integer)")
        con.execute("insert into marts.families values ('f1', 2)")
        first_build = new_build(con)
        add_days(con, [day("v1", date(2026, 11, 10), 10), ig("m1", date(2026, 11, 10), 7)])
        run(con, spec(NULLS_YAML))
        publish(con, target)
        assert published("select platform, status from meta.source_status order by 1") == [
            ("instagram", "current"),
            ("youtube", "current"),
        ]

        # night 2: youtube moves on, instagram's new rows break a check
        con.execute("update marts.daily set views = views + 5")
        con.execute("update marts.daily set views = -1 where platform = 'instagram'")
        con.execute("update marts.families set items = 3")
        new_build(con)
        assert run(con, spec(NULLS_YAML)).held_back == ["instagram"]
        summary = publish(con, target)
        assert list(summary.held_back) == ["instagram"]
        assert published("select platform, views from marts.daily order by 1") == [
            ("instagram", 7),  # the last published, not the failing -1
            ("youtube", 15),
        ]
        assert published("select items from families") == [(3,)]  # no platform: the build's
        (stale,) = published(
            "select status, build_id, stale_since, reason from meta.source_status "
            "where platform = 'instagram'"
        )
        assert stale[:2] == ("stale", first_build) and stale[3].startswith("instagram held back")

        # night 3: still failing; still the same rows, stale since night 2
        con.execute("update marts.daily set views = views + 5 where platform = 'youtube'")
        new_build(con)
        run(con, spec(NULLS_YAML))
        publish(con, target)
        assert published("select platform, views from marts.daily order by 1") == [
            ("instagram", 7),
            ("youtube", 20),
        ]
        assert published(
            "select status, build_id, stale_since from meta.source_status "
            "where platform = 'instagram'"
        ) == [stale[:3]]

        # night 4: the platform restated the day: instagram is current again
        con.execute("update marts.daily set views = 9 where platform = 'instagram'")
        last_build = new_build(con)
        assert run(con, spec(NULLS_YAML)).success
        publish(con, target)
        assert published("select platform, views from marts.daily order by 1") == [
            ("instagram", 9),
            ("youtube", 20),
        ]
        assert published("select platform, status, build_id, reason from meta.source_status") == [
            ("instagram", "current", last_build, None),
            ("youtube", "current", last_build, None),
        ]
