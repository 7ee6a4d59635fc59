"""GA4 through the whole night against the sandbox: a backfill lands exactly the page-days the
sandbox holds, a re-run duplicates nothing, a restated day wins, a quota stop resumes to the
same tables, data_quality names the sampled, thresholded and "(other)" days, and a story's
web page joins its videos in one content family."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from connectors.ga4 import page_item_id, settings
from connectors.ga4.settings import PagePaths
from contentpulse import pipeline
from contentpulse.config import Config, load_config, sources_model
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import Sandbox
from tests.connectors.test_ga4 import CLOCK, END, PAGES, TRAFFIC, ga4_portfolios
from tests.e2e.test_night import checksums

MARTS = ("marts.posts", "marts.post_daily", "marts.post_performance")
# staging without extracted_at, which differs from run to run by design
STAGED = (
    "select item_id, date, views, active_users, sessions, engaged_sessions, "
    "engagement_time_s, key_events, page_paths, page_title from staging.stg_ga4__page_daily"
)


@pytest.fixture
def ga4_sandbox() -> Iterator[Sandbox]:
    youtube, ga4 = ga4_portfolios(days=40)
    with Sandbox(youtube, clock=CLOCK, ga4=ga4) as sandbox:
        yield sandbox


def ga4_config(
    tmp_path: Path, sandbox: Sandbox, name: str = "ga4", youtube: bool = False, **changes
) -> Config:
    """The sandbox's config with its GA4 property (and its YouTube channels if asked)."""
    cfg = load_config(write_sandbox_config(tmp_path / f"{name}.yml", sandbox, tmp_path / name))
    ga4 = cfg.sources.ga4.model_copy(update=changes)
    sources = sources_model()(youtube=cfg.sources.youtube if youtube else None, ga4=ga4)
    return cfg.model_copy(update={"sources": sources})


def land_and_build(
    cfg: Config, start: date, end: date = END, run_id: str = "backfill", resume: bool = True
):
    """Extract, load and build (the checks and publish have their own tests)."""
    step = pipeline.extract(
        cfg, {p: Window(start, end) for p, _ in cfg.iter_sources()}, run_id, resume=resume
    )
    pipeline.load(cfg)
    pipeline.build(cfg)
    return step


def truth_item_days(sandbox: Sandbox, clock: date) -> dict[tuple[str, date], int]:
    """(item, day) -> views as the sandbox serves them, path variants summed."""
    ga4 = sandbox.ga4.portfolio
    prop = ga4.properties[0]
    report = ga4.report(prop.property_id, PAGES, ["screenPageViews"], ga4.start, END, clock)
    out: dict[tuple[str, date], int] = defaultdict(int)
    paths = PagePaths(locales=list(prop.spec.locales))
    for (day, host, path, _), (views,) in report.rows:
        out[(page_item_id(host, path, paths), date(int(day[:4]), int(day[4:6]), int(day[6:])))] += (
            int(views)
        )
    return dict(out)


def staged(cfg: Config) -> dict[tuple[str, date], int]:
    with connect(cfg.paths.warehouse, read_only=True) as con:
        rows = con.sql("select item_id, date, views from staging.stg_ga4__page_daily").fetchall()
    return {(item, day): views for item, day, views in rows}


def fingerprint(cfg: Config) -> dict:
    with connect(cfg.paths.warehouse, read_only=True) as con:
        staged_sum = con.sql(f"select count(*), sum(hash(x)) from ({STAGED}) as x").fetchall()[0]
    return checksums(cfg.paths.warehouse, MARTS) | {"staging": staged_sum}


def test_backfill_is_exact_reruns_change_nothing_and_restated_days_win(tmp_path, ga4_sandbox):
    cfg = ga4_config(tmp_path, ga4_sandbox)
    start = ga4_sandbox.ga4.portfolio.start
    steps = pipeline.backfill(cfg, start, END, with_report=False)
    assert [s.step for s in steps] == ["extract", "load", "build", "check", "publish"]
    assert not any(s.errors for s in steps)  # the checks pass on GA4 rows too
    truth = truth_item_days(ga4_sandbox, CLOCK)
    assert staged(cfg) == truth and len(truth) > 500

    def night(run_id: str) -> None:
        land_and_build(cfg, END - timedelta(days=2), END, run_id, resume=False)

    night("night-1")
    first = fingerprint(cfg)
    night("night-2")
    assert fingerprint(cfg) == first  # the same night twice: nothing duplicated or lost
    with connect(cfg.paths.warehouse, read_only=True) as con:
        extractions = con.sql(
            "select max(extractions) from staging.stg_ga4__page_daily where date = $d",
            params={"d": END},
        ).fetchall()[0][0]
    assert extractions == 3  # the newest day was read three times, and is staged once

    before = staged(cfg)
    ga4_sandbox.clock = CLOCK + timedelta(days=1)  # GA4 processes the two newest days further
    night("night-3")
    after = staged(cfg)
    assert after == truth_item_days(ga4_sandbox, ga4_sandbox.clock)
    changed = {day for key, day in after if after[(key, day)] != before.get((key, day))}
    assert changed == {END - timedelta(days=1), END}
    with connect(cfg.paths.warehouse, read_only=True) as con:
        restated = con.sql(
            "select distinct date from marts.post_daily where platform = 'ga4' and is_restated "
            "order by 1"
        ).fetchall()
    assert [d for (d,) in restated] == [END - timedelta(days=1), END]


def test_a_quota_stop_mid_backfill_resumes_to_the_same_tables(tmp_path, ga4_sandbox):
    start = ga4_sandbox.ga4.portfolio.start
    reference = ga4_config(tmp_path, ga4_sandbox, "reference", page_size=300)
    land_and_build(reference, start)
    expected = fingerprint(reference)
    with connect(reference.paths.warehouse, read_only=True) as con:
        chunk_tokens = con.sql("select max(tokens) from staging.stg_ga4__extractions").fetchall()[
            0
        ][0]

    ga4_sandbox.ga4.quota.reset()
    # a day's tokens hold one chunk, not two
    ga4_sandbox.ga4.limits.tokens_per_day = chunk_tokens + 2
    cfg = ga4_config(tmp_path, ga4_sandbox, page_size=300, quota_reserve=0, concurrency=1)
    runs = []
    for _ in range(4):
        runs.append(land_and_build(cfg, start, run_id=f"backfill-{len(runs)}"))
        if not runs[-1].errors:
            break
        ga4_sandbox.ga4.quota.reset()  # the next day: GA4's quota refilled
    assert len(runs) == 2, "the quota was meant to be too small for one run"
    first_error = runs[0].errors[0]
    # the second chunk does not start: the tokens left would not cover it
    assert f"tokensPerDay down to 2 of 200,000 (a chunk costs about {chunk_tokens}" in first_error
    assert "the next run resumes from here" in first_error
    assert "(1 of 3 units left for the next run)" in first_error and "\n" not in first_error
    assert fingerprint(cfg) == expected
    logs = list(
        cfg.paths.landing.glob("source=ga4/stream=extract_log/account=*/window=*/*.parquet")
    )
    assert len(logs) == len({f.parent for f in logs}) == 2  # each chunk landed exactly once


def test_data_quality_names_the_sampled_thresholded_other_and_not_set_days(tmp_path):
    youtube, ga4 = ga4_portfolios(days=20, signals=True, cardinality_limit=60, not_set_views=40.0)
    prop = ga4.properties[0]
    events = ga4.daily_events(prop.property_id, CLOCK)
    busiest = max(events, key=events.get)
    pages = ga4.report(prop.property_id, PAGES, list(settings.PAGE_METRICS), ga4.start, END, CLOCK)
    other_days = (
        pages.other_days
        | ga4.report(
            prop.property_id, TRAFFIC, list(settings.TRAFFIC_METRICS), ga4.start, END, CLOCK
        ).other_days
    )
    # the truth of GA4's "(not set)" rows: their share of each day's page views
    day_views: dict[date, int] = defaultdict(int)
    not_set: dict[date, int] = defaultdict(int)
    for (day, _, path, _), values in pages.rows:
        when = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        day_views[when] += int(values[0])
        if path == "(not set)":
            not_set[when] += int(values[0])
    assert other_days and busiest and not_set
    with Sandbox(youtube, clock=CLOCK, ga4=ga4) as sandbox:
        sandbox.ga4.sampling_limit_events = events[busiest] - 1  # that day alone is too big
        cfg = ga4_config(tmp_path, sandbox, sampling_event_limit=events[busiest] - 1)
        assert not land_and_build(cfg, ga4.start).errors
    with connect(cfg.paths.warehouse, read_only=True) as con:
        rows = con.sql(
            "select date, is_sampled, is_thresholded, other_row_share, not_set_row_share "
            "from marts.data_quality where platform = 'ga4' order by date"
        ).fetchall()
        flagged = con.sql(
            "select date, views from staging.stg_ga4__page_daily where is_not_set_row"
        ).fetchall()
        not_set_items = con.sql(
            "select count(*) from marts.posts where item_id = '(not set)'"
        ).fetchall()[0][0]
    assert [d for d, sampled, *_ in rows if sampled] == [busiest]
    assert all(thresholded for _, _, thresholded, *_ in rows)  # signals on, users asked for
    assert {d for d, _, _, share, _ in rows if share > 0} == other_days
    assert all(0 <= share < 1 for *_, share, _ in rows)
    assert dict(flagged) == dict(not_set)  # every "(not set)" row kept and flagged
    assert not_set_items == 0  # and none is a content item
    shares = {d: share for d, *_, share in rows}
    for day, views in not_set.items():
        if day != busiest:  # the sampled day's total is GA4's estimate, not the truth
            assert shares[day] == pytest.approx(views / day_views[day]), day
    assert all(share == 0 for d, share in shares.items() if d not in not_set)


def test_a_storys_web_page_and_its_videos_are_one_content_family(tmp_path, ga4_sandbox):
    cfg = ga4_config(tmp_path, ga4_sandbox, youtube=True)
    step = land_and_build(cfg, ga4_sandbox.portfolio.start)
    assert not step.errors
    videos = ga4_sandbox.portfolio.families()
    pages = {item: story for (_, item), story in ga4_sandbox.ga4.portfolio.families().items()}
    with connect(cfg.paths.warehouse, read_only=True) as con:
        posts = con.sql("select platform, item_id, family_id from marts.posts").fetchall()

    def pairs(mapping: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for item, family in mapping.items():
            groups[family].append(item)
        return {(a, b) for g in groups.values() for a in g for b in g if a < b}

    found = pairs({item: family for _, item, family in posts})
    truth = {item: videos.get(item) or pages.get(item) or f"alone:{item}" for _, item, _ in posts}
    expected = pairs(truth)
    cross = {(a, b) for a, b in expected if (a in pages) != (b in pages)}
    assert cross, "stories told on the web and on YouTube"
    assert found == expected
