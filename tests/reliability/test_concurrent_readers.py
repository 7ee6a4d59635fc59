"""Analysts read `analytics.duckdb` while nightly publishes swap new snapshots in.

Two analyst processes query the snapshot in a loop, read-only, as docs/analysts.md tells them to:
one holds a single connection open through every publish, the other opens a connection
for each query. Meanwhile this process publishes five times. Neither side may see an error
(no lock error, no "database file changed", no I/O error), and every query must see one
complete snapshot: counts and sums that hold between marts agree within each query.

What DuckDB does (2.0, Linux): publish writes the new snapshot beside the target and
renames it over it. A connection that is open keeps reading the file it opened (the old
inode) undisturbed, for as long as it stays open; in that same process, another
`duckdb.connect(path)` while it is open shares its database instance, so it sees the old
snapshot too. A connection opened after every earlier one in the process was closed sees
the newest snapshot. Publishing never waits for readers, and readers never wait for it.

The nights are real: after a backfill of the first twenty-five days is published, each of the
last five days runs the whole night (`pipeline.run_night`: extract with lookback, load,
build, check, publish) while the sandbox's clock moves a day at a time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import write_sandbox_config
from sandbox import ChannelSpec, Portfolio, Sandbox
from tests.processes import results, wait_for

END = date(2026, 11, 20)
START = END - timedelta(days=29)
NIGHTS = 5
FIRST = END - timedelta(days=NIGHTS - 1)  # the first night's run date

# counts and sums across marts and the snapshot's views, all in one query
QUERY = """
    select
        (select count(*) from marts.posts) as posts,
        (select count(*) from marts.post_performance) as performance_rows,
        (select count(*) from posts) as posts_view,
        (select count(distinct (platform, account_id, item_id)) from marts.post_daily)
            as daily_posts,
        (select sum(views) from marts.post_daily) as daily_views,
        (select sum(views) from post_performance) as total_views,
        (select sum(views) from marts.account_daily) as account_views,
        (select max(date)::varchar from marts.post_daily) as last_day,
        (select build_id from meta.build) as build_id
"""

READER = textwrap.dedent("""
    import json, sys, os, time, duckdb
    path, out, stop, mode, QUERY = sys.argv[1:6]
    names = None
    con = duckdb.connect(path, read_only=True) if mode == "hold" else None
    with open(out, "w") as fh:
        while not os.path.exists(stop):
            try:
                c = con if con is not None else duckdb.connect(path, read_only=True)
                cur = c.execute(QUERY)
                names = names or [d[0] for d in cur.description]
                row = dict(zip(names, cur.fetchone()))
                if con is None:
                    c.close()
                fh.write(json.dumps(row) + "\\n")
            except Exception as exc:  # recorded, and the loop goes on
                fh.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\\n")
            fh.flush()
            time.sleep(0.05)  # a busy analyst: twenty queries a second, and the writer has a core
""")


def sandbox_portfolio() -> Portfolio:
    return Portfolio([ChannelSpec("Alpha News", 8, "America/New_York")], START, END)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # the sandbox serves analytics through the day before yesterday by its clock
    with Sandbox(sandbox_portfolio(), clock=FIRST + timedelta(days=1)) as sb:
        yield sb


def published_backfill(tmp_path: Path, sandbox: Sandbox) -> Config:
    """The warehouse and snapshot through the day before the first night."""
    cfg = load_config(
        write_sandbox_config(tmp_path / "contentpulse.yml", sandbox, tmp_path / "data")
    )
    steps = pipeline.backfill(cfg, START, FIRST - timedelta(days=1), with_report=False)
    assert not [e for s in steps for e in s.errors]
    return cfg


def start_reader(tmp_path: Path, cfg: Config, mode: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / f"reader-{mode}.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER,
            str(cfg.paths.analytics),
            str(out),
            str(tmp_path / "stop"),
            mode,
            QUERY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def snapshot(path: Path) -> dict:
    """What QUERY answers on the snapshot just published, read the way an analyst would."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(QUERY)
        return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    finally:
        con.close()


def test_analysts_read_complete_snapshots_through_five_nightly_publishes(tmp_path, sandbox):
    cfg = published_backfill(tmp_path, sandbox)
    readers = {mode: start_reader(tmp_path, cfg, mode) for mode in ("hold", "reconnect")}
    nights = [FIRST + timedelta(days=k) for k in range(NIGHTS)]
    try:
        for _, out in readers.values():
            wait_for(lambda out=out: len(results(out)) >= 3, "the readers' first queries")
        first = snapshot(cfg.paths.analytics)
        published = {first["build_id"]: first}
        for night in nights:
            sandbox.clock = night + timedelta(days=2)  # the night after `night`
            steps = pipeline.run_night(cfg, night, run_id=f"night-{night}", with_report=False)
            assert not [e for s in steps for e in s.errors], night
            assert steps[-1].outputs["path"] == str(cfg.paths.analytics)
            answer = snapshot(cfg.paths.analytics)
            assert answer["last_day"] == str(night)
            published[answer["build_id"]] = answer
            # let the reconnecting analyst see this snapshot before the next night
            seen = len(results(readers["reconnect"][1]))
            wait_for(
                lambda seen=seen: len(results(readers["reconnect"][1])) >= seen + 3,
                "queries after a publish",
            )
    finally:
        (tmp_path / "stop").touch()
        for proc, _ in readers.values():
            try:
                proc.wait(timeout=60)
            finally:
                proc.kill()
    assert len(published) == NIGHTS + 1, "each night published a new build"
    before = str(FIRST - timedelta(days=1))
    for mode, (proc, out) in readers.items():
        assert proc.returncode == 0, f"{mode}: {proc.stderr.read()}"
        rows = results(out)
        errors = [r["error"] for r in rows if "error" in r]
        assert not errors, f"{mode} reader saw errors: {errors[:3]}"
        assert len(rows) >= 3 * NIGHTS, mode
        for r in rows:
            # one whole snapshot per query: exactly what that build answers, and the views
            # agree with the tables they read
            assert r == published[r["build_id"]], r
            assert r["posts"] == r["performance_rows"] == r["posts_view"] >= r["daily_posts"], r
            assert r["daily_views"] == r["total_views"] == r["account_views"], r
        days = [r["last_day"] for r in rows]
        if mode == "hold":
            # the held connection reads the snapshot it opened, whole, to the end
            assert {(r["last_day"], r["build_id"]) for r in rows} == {(before, rows[0]["build_id"])}
        else:
            # a new connection sees each night's snapshot, in order, and never an older one
            assert days == sorted(days), "a reader never goes back to an older snapshot"
            assert list(dict.fromkeys(days)) == [before] + [str(n) for n in nights]
            assert len({r["build_id"] for r in rows}) == NIGHTS + 1
    assert not list(cfg.paths.analytics.parent.glob(".*.tmp")), "no temporary file left"
