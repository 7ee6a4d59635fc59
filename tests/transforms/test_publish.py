"""Publishing swaps the snapshot atomically: a reader holding the old file is not disturbed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
