"""The check policy through the real CLI against the sandbox, over three runs: a night with
posts Meta answers no insights for publishes every source and renders its report (their
views NULL, counted, "—"); a night where one source's rows break a structural check
publishes the others, keeps that source's last published rows, marks it stale and exits 1
with one line; the next good night clears the mark."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from contentpulse.demo import write_sandbox_config
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.social_portfolio import (
    SocialAccountSpec,
    SocialPortfolio,
    with_insight_gaps,
)

END = date(2026, 11, 20)
START = END - timedelta(days=34)
FIRST = END - timedelta(days=2)  # the backfill's last reporting day; the two nights after it follow
CLI = str(Path(sys.executable).parent / "contentpulse")
YOUTUBE_ROWS = "select * from marts.post_daily where platform = 'youtube' order by all"


def contentpulse(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        timeout=900,
    )


def published(cfg_dir: Path, sql: str) -> list[tuple]:
    with connect(cfg_dir / "data" / "analytics.duckdb", read_only=True) as con:
        return con.sql(sql).fetchall()


def errors(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> dict:
    """The backfill through FIRST, a night whose YouTube answer holds a negative view count
    for one video-day, and the next night, when the platform has restated that day; what
    each run printed and published is kept for the tests."""
    tmp = tmp_path_factory.mktemp("source_checks")
    youtube = Portfolio([ChannelSpec("Alpha News", 8, "America/New_York")], START, END)
    social = with_insight_gaps(
        SocialPortfolio(
            [
                SocialAccountSpec("instagram", "alpha.news", 40, "America/New_York"),
                SocialAccountSpec("facebook", "Alpha News", 25, "Europe/Berlin", 0.8),
            ],
            START,
            END,
            youtube=youtube,
        )
    )
    state: dict = {"social": social, "dir": tmp}
    with Sandbox(youtube, clock=FIRST + timedelta(days=1), social=social) as sandbox:
        config = write_sandbox_config(tmp / "contentpulse.yml", sandbox, tmp / "data")
        state["clock"] = sandbox.clock
        state["backfill"] = contentpulse(
            config, "backfill", "--start", START.isoformat(), "--end", FIRST.isoformat()
        )
        state["youtube_before"] = published(tmp, YOUTUBE_ROWS)
        state["null_views"] = set(
            published(tmp, "select platform, item_id from post_performance where views is null")
        )
        state["unreported"] = published(
            tmp,
            "select (select sum(items_views_unreported) from data_quality), "
            "(select count(*) from post_daily where views is null), "
            "(select list(distinct r order by r) from data_quality, "
            "unnest(views_unreported_reasons) as t(r)), "
            "(select count(*) from post_performance where views = 0)",
        )[0]
        state["status_1"] = published(tmp, "select distinct status from meta.source_status")
        state["report_1"] = _newest_report(tmp)

        # the next night: one video-day of YouTube's answer is impossible (a negative count)
        video = next(
            v for v in youtube.channels[0].videos if v.publish_date < FIRST - timedelta(days=7)
        )
        sandbox.youtube.misreport(video.video_id, FIRST, views=-40)
        sandbox.clock = FIRST + timedelta(days=2)
        state["held_back"] = contentpulse(
            config, "run", "--date", (FIRST + timedelta(days=1)).isoformat()
        )
        state["held_back_snapshot"] = {
            "youtube": published(tmp, YOUTUBE_ROWS),
            "status": published(
                tmp, "select platform, status, stale_since, reason from meta.source_status"
            ),
            "social_days": published(
                tmp,
                "select platform, max(date) from marts.post_daily "
                "where platform <> 'youtube' group by 1 order by 1",
            ),
        }
        state["report_2"] = _newest_report(tmp)

        # the night after: YouTube restated the day, and the lookback reads it again
        sandbox.youtube.restate()
        sandbox.clock = FIRST + timedelta(days=3)
        state["restated"] = contentpulse(
            config, "run", "--date", (FIRST + timedelta(days=2)).isoformat()
        )
        state["video"], state["truth"] = video, youtube
    return state


def _newest_report(tmp: Path) -> str:
    reports = sorted((tmp / "data" / "reports").glob("weekly-*.html"), key=os.path.getmtime)
    return reports[-1].read_text(encoding="utf-8") if reports else ""


def test_posts_without_insights_stay_null_are_counted_and_every_source_publishes(nights):
    run = nights["backfill"]
    assert run.returncode == 0 and not errors(run), run.stderr[-3000:]
    social, clock = nights["social"], nights["clock"]
    truth = {
        (a.platform, p.post_id)
        for a in social.accounts
        for p in social.visible_posts(a, clock)
        if social.insight_gaps.empty(p, clock) or social.lifetime(p, clock)["reach"] < 1
    }
    assert {p for p, _ in truth} == {"instagram", "facebook"}  # each shape is in the night
    assert nights["null_views"] == truth
    unreported, null_days, reasons, zero_views = nights["unreported"]
    assert unreported == null_days > 0 and "empty" in reasons
    assert zero_views == 0  # no post's unreported views became 0 (and ranked last)
    assert nights["status_1"] == [("current",)]


def test_the_report_renders_unreported_views_as_a_dash(nights):
    page = nights["report_1"]
    assert page and "post-days without views (the platform reported none" in page
    for raw in ("nan", "NaN", "None", "NaT"):
        assert f">{raw}<" not in page and f" {raw} " not in page
    assert "is not refreshed" not in page


def test_one_sources_structural_break_holds_it_back_and_the_others_publish(nights):
    run = nights["held_back"]
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    [line] = errors(run)
    assert line.startswith("error: check: youtube held back: ")
    assert "ExpectColumnValuesToBeBetween(column=views, min_value=0) failed on 1 of" in line
    assert "rows of youtube" in line and '"views": -40' in line
    assert "the other sources are published and youtube keeps its last published rows" in line
    assert "publish: " in run.stdout and "(youtube kept as last published)" in run.stdout

    snapshot = nights["held_back_snapshot"]
    assert snapshot["youtube"] == nights["youtube_before"]  # the last good rows, not -40
    status = {p: (s, since, reason) for p, s, since, reason in snapshot["status"]}
    assert {p: s for p, (s, _, _) in status.items()} == {
        "facebook": "current",
        "instagram": "current",
        "youtube": "stale",
    }
    assert (
        status["youtube"][1] is not None
        and status["youtube"][2] == line.removeprefix("error: check: ").split("; details in ")[0]
    )
    # the social sources moved on to the night's reads
    assert all(day >= FIRST for _, day in snapshot["social_days"])
    assert "youtube is not refreshed</strong>" in nights["report_2"]


def test_the_next_good_night_clears_the_stale_mark(nights):
    run = nights["restated"]
    assert run.returncode == 0 and not errors(run), run.stderr[-3000:]
    tmp = nights["dir"]
    assert published(tmp, "select distinct status from meta.source_status") == [("current",)]
    video, truth = nights["video"], nights["truth"]
    (views,) = published(
        tmp,
        f"select views from post_daily where item_id = '{video.video_id}' and date = '{FIRST}'",
    )[0]
    assert (
        views
        == truth.content_daily_truth(FIRST + timedelta(days=3))
        .set_index(["item_id", "date"])
        .loc[(video.video_id, FIRST), "views"]
    )
    assert "is not refreshed" not in _newest_report(tmp)
