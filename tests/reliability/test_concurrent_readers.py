"""Analysts read `analytics.duckdb` while nightly publishes swap new snapshots in.

Two analyst processes query the snapshot in a loop, read-only, as README tells them to:
one holds a single connection open through every publish, the other opens a connection
for each query. Meanwhile this process publishes ten times. Neither side may see an error
(no lock error, no "database file changed", no I/O error), and every query must see one
complete snapshot: counts and sums that hold between marts agree within each query.

What DuckDB does (2.0, Linux): publish writes the new snapshot beside the target and
renames it over it. A connection that is open keeps reading the file it opened (the old
inode) undisturbed, for as long as it stays open; in that same process, another
`duckdb.connect(path)` while it is open shares its database instance, so it sees the old
snapshot too. A connection opened after every earlier one in the process was closed sees
the newest snapshot. Publishing never waits for readers, and readers never wait for it.

Each publish needs a checked build, and the checks take tens of seconds, so the ten
publishes alternate between two checked builds: the backfill read the morning after day 29
(through day 29) and the night of day 30 read a day later (through day 30). Every publish
is the real `pipeline.publish`: a new file, renamed over the last.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.sandbox import ChannelSpec, Portfolio, Sandbox
from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import write_sandbox_config

END = date(2026, 11, 20)
START = END - timedelta(days=29)
PUBLISHES = 10

READER = textwrap.dedent("""
    import json, sys, os, time, duckdb
    path, out, stop, mode = sys.argv[1:5]
    QUERY = '''
        select
            (select count(*) from marts.posts) as posts,
            (select count(*) from marts.post_performance) as performance_rows,
            (select count(*) from posts) as posts_view,
            (select count(distinct (platform, account_id, item_id)) from marts.post_daily)
                as daily_posts,
            (select sum(views) from marts.post_daily) as daily_views,
            (select sum(views) from post_performance) as total_views,
            (select max(date)::varchar from marts.post_daily) as last_day,
            (select build_id from meta.build) as build_id
    '''
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
            time.sleep(0.01)  # an analyst's pace; leaves the writer a core
""")


def sandbox_portfolio() -> Portfolio:
    return Portfolio([ChannelSpec("Alpha News", 8, "America/New_York")], START, END)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # through the day before END: the sandbox serves analytics up to two days before its clock
    with Sandbox(sandbox_portfolio(), clock=END + timedelta(days=1)) as sb:
        yield sb


def two_checked_builds(tmp_path: Path, sandbox: Sandbox) -> tuple[Config, Config]:
    """Two warehouses publishing to one `analytics.duckdb`: the backfill through END - 1
    (published), and a copy of it that ran the night of END a day later (checked)."""
    older = load_config(write_sandbox_config(tmp_path / "a.yml", sandbox, tmp_path / "data"))
    steps = pipeline.backfill(older, START, END - timedelta(days=1), with_report=False)
    assert not [e for s in steps for e in s.errors]
    copy = tmp_path / "newer" / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copy(older.paths.warehouse, copy)
    newer = older.model_copy(update={"paths": older.paths.model_copy(update={"warehouse": copy})})
    sandbox.clock = END + timedelta(days=2)
    window = {"youtube": pipeline.night_window(newer, "youtube", END)}
    assert not pipeline.extract(newer, window, "night").errors
    pipeline.load(newer)
    pipeline.build(newer)
    pipeline.check(newer, END)
    return older, newer


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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def results(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]


def wait_for(predicate, what: str, limit_s: float = 60) -> None:
    """Poll until `predicate()`; a bound against hanging, not a timing assertion."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_analysts_read_complete_snapshots_through_ten_publishes(tmp_path, sandbox):
    older, newer = two_checked_builds(tmp_path, sandbox)
    readers = {mode: start_reader(tmp_path, older, mode) for mode in ("hold", "reconnect")}
    try:
        for _, out in readers.values():
            wait_for(lambda out=out: len(results(out)) >= 3, "the readers' first queries")
        published = []
        for k in range(PUBLISHES):
            cfg = newer if k % 2 == 0 else older
            step = pipeline.publish(cfg)  # raises if the writer fails
            published.append(step.outputs["path"])
            # let the reconnecting analyst see this snapshot before the next swap
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
    for mode, (proc, out) in readers.items():
        assert proc.returncode == 0, f"{mode}: {proc.stderr.read()}"
        rows = results(out)
        errors = [r["error"] for r in rows if "error" in r]
        assert not errors, f"{mode} reader saw errors: {errors[:3]}"
        assert len(rows) >= 3 * PUBLISHES, mode
        for r in rows:
            assert r["posts"] == r["performance_rows"] == r["posts_view"] == r["daily_posts"], r
            assert r["daily_views"] == r["total_views"], r
        snapshots = {(r["last_day"], r["build_id"]) for r in rows}
        if mode == "hold":
            # the held connection reads the snapshot it opened, whole, to the end
            assert snapshots == {(rows[0]["last_day"], rows[0]["build_id"])}
            assert rows[0]["last_day"] == str(END - timedelta(days=1))
        else:
            assert {day for day, _ in snapshots} == {
                str(END - timedelta(days=1)),
                str(END),
            }, "a new connection sees each new snapshot"
            assert len(snapshots) >= 2
            assert rows[-1]["last_day"] == str(END - timedelta(days=1)), "the last publish wins"
    assert len(published) == PUBLISHES
    assert not list(older.paths.analytics.parent.glob(".*.tmp")), "no temporary file left"
