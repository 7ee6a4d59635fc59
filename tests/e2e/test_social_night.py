"""Instagram, Facebook and TikTok through the whole night against the sandbox: a backfill
lands exactly the posts and lifetime counters the sandbox shows, the nights after it give
daily deltas equal to the sandbox's daily truth wherever consecutive snapshots exist, older
posts are re-read on the thinning schedule only, a re-run duplicates nothing, a retired
metric in config is reported while the rest loads, and a throttled run resumes to the same
tables as an uninterrupted one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from contentpulse import pipeline
from contentpulse.config import Config, load_config, sources_model
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Fault, Portfolio, Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from tests.e2e.test_night import checksums

END = date(2026, 11, 20)
START = END - timedelta(days=39)
BACKFILL_DAY = END - timedelta(days=9)  # the tracked backfill's reporting day
SOCIAL = ("instagram", "facebook", "tiktok")
MARTS = ("marts.posts", "marts.post_daily", "marts.post_performance")
METRICS = ("views", "likes", "comments", "shares")


def social_portfolio() -> SocialPortfolio:
    youtube = Portfolio([ChannelSpec("Alpha News", 6, "America/New_York")], START, END)
    specs = [
        SocialAccountSpec("instagram", "alpha.news", 40, "America/New_York"),
        SocialAccountSpec("facebook", "Alpha News", 30, "Europe/Berlin", 0.8),
        SocialAccountSpec("tiktok", "alphanews", 30, "Asia/Tokyo", 1.2, business=True),
        SocialAccountSpec("tiktok", "alpha.clips", 25, "UTC", 0.8, business=False),
    ]
    return SocialPortfolio(specs, START, END, youtube=youtube)


@pytest.fixture(scope="module")
def social_sandbox() -> Iterator[Sandbox]:
    social = social_portfolio()
    with Sandbox(social.youtube, clock=END - timedelta(days=2), social=social) as sandbox:
        yield sandbox


def social_config(tmp_path: Path, sandbox: Sandbox, name: str = "social", **changes) -> Config:
    """The sandbox's config with its social accounts only (changes apply to each source)."""
    cfg = load_config(write_sandbox_config(tmp_path / f"{name}.yml", sandbox, tmp_path / name))
    sources = {
        p: getattr(cfg.sources, p).model_copy(update=changes.get(p, {}))
        for p in SOCIAL
        if getattr(cfg.sources, p) is not None
    }
    return cfg.model_copy(update={"sources": sources_model()(**sources)})


def land_and_build(cfg: Config, start: date, end: date, run_id: str, resume: bool = True):
    """Extract, load and build (the checks and publish run in the tracked fixture)."""
    step = pipeline.extract(
        cfg, {p: Window(start, end) for p, _ in cfg.iter_sources()}, run_id, resume=resume
    )
    pipeline.load(cfg)
    pipeline.build(cfg)
    return step


def lifetimes(cfg: Config) -> pd.DataFrame:
    """Each post's counters summed over its daily deltas (= its newest snapshot)."""
    with connect(cfg.paths.warehouse, read_only=True) as con:
        return con.sql(
            "select platform, item_id, sum(views) as views, sum(likes) as likes, "
            "sum(comments) as comments, sum(shares) as shares "
            "from intermediate.int_item_daily where platform in ('instagram', 'facebook', "
            "'tiktok') group by all"
        ).df()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, social_sandbox) -> dict:
    """A backfill read the morning after BACKFILL_DAY (the whole pipeline, checks and
    publish), then every night after it up to END: extracted, loaded and built
    incrementally, END the whole night again. Nine nights, so that some posts are read at
    scheduled ages a week apart while others are read every night. What each stage left
    is kept for the tests."""
    sandbox = social_sandbox
    tmp = tmp_path_factory.mktemp("social")
    cfg = social_config(tmp, sandbox)
    sandbox.clock = BACKFILL_DAY + timedelta(days=1)
    steps = pipeline.backfill(cfg, START, BACKFILL_DAY, with_report=False)
    assert not [e for s in steps for e in s.errors]
    with connect(cfg.paths.warehouse, read_only=True) as con:
        posts = set(
            con.sql(
                "select platform, account_id, item_id from marts.posts "
                "where platform in ('instagram', 'facebook', 'tiktok')"
            ).fetchall()
        )
    state = {
        "cfg": cfg,
        "backfill_clock": sandbox.clock,
        "posts": posts,
        "lifetimes": lifetimes(cfg),
    }
    calls = []
    for k in range((END - BACKFILL_DAY).days - 1, 0, -1):
        day = END - timedelta(days=k)
        sandbox.clock = day + timedelta(days=1)
        step = land_and_build(cfg, day - timedelta(days=2), day, f"night-{day}", resume=False)
        assert not step.errors
        calls.append(step.calls)
    sandbox.clock = END + timedelta(days=1)
    steps = pipeline.run_night(cfg, END, with_report=False)
    assert not [e for s in steps for e in s.errors]
    calls.append(steps[0].calls)
    state["night_calls"] = calls
    return state


def test_backfill_lands_every_post_and_its_lifetime_counters(tracked, social_sandbox):
    social, clock = social_sandbox.social, tracked["backfill_clock"]
    visible = {
        (a.platform, a.account_id, p.post_id)
        for a in social.accounts
        for p in social.visible_posts(a, clock)
    }
    assert tracked["posts"] == visible and len(visible) > 50
    got = tracked["lifetimes"].set_index("item_id")
    for platform, _, item_id in visible:
        truth = social.lifetime(social.posts_by_id[item_id], clock)
        for metric in METRICS:
            assert got.loc[item_id, metric] == truth[metric], (platform, item_id, metric)


def test_nights_give_the_daily_truth_and_reread_old_posts_rarely(tracked, social_sandbox):
    social, cfg = social_sandbox.social, tracked["cfg"]
    with connect(cfg.paths.warehouse, read_only=True) as con:
        exact = con.sql(
            "select platform, account_id, item_id, date, views, likes, comments, shares "
            "from intermediate.int_item_daily where platform in ('instagram', 'facebook', "
            "'tiktok') and not is_interpolated"
        ).df()
        interpolated = con.sql(
            "select count(*) from marts.post_daily where is_interpolated"
        ).fetchall()[0][0]
        d7 = dict(
            con.sql(
                "select item_id, views_d7 from intermediate.int_item_totals "
                "where platform in ('instagram', 'facebook', 'tiktok') and age_days >= 6"
            ).fetchall()
        )
    truth = social.daily_truth(END + timedelta(days=1))
    exact["date"] = exact["date"].dt.date
    merged = exact.merge(
        truth, on=["platform", "account_id", "item_id", "date"], suffixes=("", "_t")
    )
    assert len(merged) == len(exact) > 50  # every exact day is a day the sandbox counted
    for metric in METRICS:
        assert (merged[metric] == merged[f"{metric}_t"]).all(), metric
    assert interpolated > 0  # the first snapshots of the backfill cover many days each
    # A post's first week is known exactly when a snapshot closed its age 6 (the re-poll
    # schedule reads posts then); a post first read later leaves it unknown, not guessed.
    first_read = BACKFILL_DAY
    known = {i: v for i, v in d7.items() if v is not None}
    for item_id, views_d7 in d7.items():
        post = social.posts_by_id[item_id]
        if (first_read - post.publish_date).days > 6:
            assert views_d7 is None, item_id
        else:
            assert views_d7 == int(post.daily["views"][:7].sum()), item_id
    assert 0 < len(known) < len(d7)
    # The nights read the young posts and those at a scheduled age, not all of them.
    posts = sum(len(a.posts) for a in social.accounts)
    assert max(tracked["night_calls"]) < posts / 2


def test_staged_account_days_are_the_platforms_own_totals(tracked, social_sandbox):
    """Every day Instagram and a TikTok business account serve account totals for, staged
    exactly: views, reach and new followers as the sandbox's account_day(); TikTok's up to
    its two-day lag, its followers_gained the rise of the total (net: TikTok gives totals)."""
    social, cfg = social_sandbox.social, tracked["cfg"]
    with connect(cfg.paths.warehouse, read_only=True) as con:
        staged = con.sql(
            "select platform, account_id, date, views, reach, followers_gained "
            "from staging.stg_instagram__account_daily union all "
            "select platform, account_id, date, views, reach, followers_gained "
            "from staging.stg_tiktok__account_daily order by all"
        ).fetchall()
    instagram = social.by_platform("instagram")[0]
    business = next(a for a in social.by_platform("tiktok") if a.business)
    newest = social.tiktok_account_days(END + timedelta(days=1))[1]
    served = [("instagram", instagram, START + timedelta(days=i)) for i in range(40)] + [
        ("tiktok", business, START - timedelta(days=1) + timedelta(days=i))
        for i in range((newest - START).days + 2)
    ]
    assert [(p, a, d) for p, a, d, *_ in staged] == [(p, a.account_id, d) for p, a, d in served]
    for (platform, account_id, day, views, reach, gained), (_, account, _) in zip(
        staged, served, strict=True
    ):
        truth = social.account_day(account, day)
        if platform == "instagram":
            assert (views, reach, gained) == (truth["views"], truth["reach"], truth["follows"])
        else:
            first = day == START - timedelta(days=1)  # landed as the first day's baseline
            expected = (truth["views"], None, None if first else truth["follows"])
            assert (views, reach, gained) == expected, (account_id, day)


def test_running_the_same_night_twice_changes_nothing(tracked, social_sandbox):
    cfg = tracked["cfg"]
    first = checksums(cfg.paths.analytics, MARTS)
    social_sandbox.clock = END + timedelta(days=1)
    steps = pipeline.run_night(cfg, END, with_report=False)
    assert not [e for s in steps for e in s.errors]
    assert checksums(cfg.paths.analytics, MARTS) == first


def test_incremental_nights_equal_a_full_rebuild(tracked):
    """The nights were built incrementally: a new snapshot rewrites the days back to the
    post's previous one, and the runner must start there."""
    cfg = tracked["cfg"]
    tables = (*MARTS, "intermediate.int_snapshot_daily", "marts.account_daily")
    incremental = checksums(cfg.paths.warehouse, tables)
    assert pipeline.build(cfg, full=True).detail.endswith("full rebuild")
    assert checksums(cfg.paths.warehouse, tables) == incremental


def test_a_retired_metric_in_config_is_reported_and_the_rest_loads(tmp_path, social_sandbox):
    metrics = {"REELS": ["views", "plays", "reach", "likes"], "FEED": ["impressions", "views"]}
    cfg = social_config(tmp_path, social_sandbox, instagram={"metrics": metrics})
    cfg = cfg.model_copy(update={"sources": sources_model()(instagram=cfg.sources.instagram)})
    clock = social_sandbox.clock
    step = land_and_build(cfg, START, clock - timedelta(days=1), "retired")
    assert not step.errors
    with connect(cfg.paths.warehouse, read_only=True) as con:
        issues = con.sql(
            "select distinct metric, code from staging.stg_instagram__insight_issues"
        ).fetchall()
        views = con.sql(
            "select count(*), count(views) from staging.stg_instagram__snapshots "
            "where item_id in (select item_id from staging.stg_instagram__posts "
            "where product_type in ('REELS', 'FEED'))"
        ).fetchall()[0]
    assert {("plays", "retired"), ("impressions", "retired")} <= set(issues)
    assert views[0] > 0 and views[1] == views[0]  # views still loaded for reels and feed posts


def test_a_throttled_run_resumes_to_the_same_tables(tmp_path, social_sandbox, monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda seconds: None)  # TikTok waits 15 s
    clock = social_sandbox.clock
    end = clock - timedelta(days=1)
    clean = social_config(tmp_path, social_sandbox, name="clean")
    land_and_build(clean, START, end, "clean")
    # Meta answers code 4 / 80002 and TikTok 429 in the middle of a run
    throttled = social_config(tmp_path, social_sandbox, name="throttled")
    social_sandbox.faults.add(Fault("/graph/", "quota", times=10_000, after=25))
    social_sandbox.faults.add(
        Fault("/tiktok/v2/video/", "status", status=429, times=10_000, after=2)
    )
    try:
        stopped = land_and_build(throttled, START, end, "run-1")
    finally:
        social_sandbox.faults.clear()
    assert stopped.errors and all("next run" in e for e in stopped.errors), stopped.errors
    resumed = land_and_build(throttled, START, end, "run-2")
    assert not resumed.errors
    assert checksums(throttled.paths.warehouse, MARTS) == checksums(clean.paths.warehouse, MARTS)


def test_estimated_days_sum_to_what_each_read_measured_and_beat_an_even_split(
    tracked, social_sandbox
):
    """An interval between two reads (or a backfilled post's history before its first) is
    split along the account's decay curve: its days sum exactly to the measured increment,
    each is flagged, and they are far closer to the sandbox's days than an even split."""
    cfg, social = tracked["cfg"], social_sandbox.social
    with connect(cfg.paths.warehouse, read_only=True) as con:
        unbalanced = con.sql(
            "select count(*) from intermediate.int_snapshot_intervals as i "
            "join intermediate.int_snapshot_daily as d using (platform, account_id, item_id) "
            "where d.date > i.previous_date and d.date <= i.snapshot_date "
            "group by i.platform, i.item_id, i.snapshot_date, i.views "
            "having sum(d.views) <> case when i.views < 0 then 0 else i.views end"
        ).fetchall()
        estimated = con.sql(
            "select d.platform, d.account_id, d.item_id, d.date, d.views, "
            "i.views / i.gap_days as even "
            "from intermediate.int_snapshot_daily as d "
            "join intermediate.int_snapshot_intervals as i using (platform, account_id, item_id) "
            "where d.is_estimated and d.date > i.previous_date and d.date <= i.snapshot_date"
        ).df()
        flagged = con.sql(
            "select count(*) filter (where is_estimated), count(*) from marts.post_daily "
            "where platform in ('instagram', 'facebook', 'tiktok')"
        ).fetchall()[0]
    assert unbalanced == []
    truth = social.daily_truth(END + timedelta(days=1))
    estimated["date"] = estimated["date"].dt.date
    merged = estimated.merge(
        truth[["platform", "account_id", "item_id", "date", "views"]],
        on=["platform", "account_id", "item_id", "date"],
        suffixes=("", "_truth"),
        how="left",
    ).fillna({"views_truth": 0})
    assert len(merged) > 1000 and flagged[0] == len(merged) < flagged[1]
    curve = (merged.views - merged.views_truth).abs().sum() / merged.views_truth.sum()
    even = (merged.even - merged.views_truth).abs().sum() / merged.views_truth.sum()
    assert curve < 0.5 and curve < even / 2, (curve, even)


def account_week_truth(social: SocialPortfolio, account_id: str, monday: date) -> int:
    account = social.account(account_id)
    return sum(social.account_day(account, monday + timedelta(days=d))["views"] for d in range(7))


def test_account_weeks_are_the_truth_within_the_estimate_they_declare(tracked, social_sandbox):
    """Every complete account week: within 2 % of the sandbox's truth plus the part it
    declares estimated; a platform's own account totals (Facebook's page) are the truth
    exactly, with nothing declared."""
    cfg, social = tracked["cfg"], social_sandbox.social
    with connect(cfg.paths.warehouse, read_only=True) as con:
        weeks = con.sql(
            "select platform, account_id, week_start, views, views_estimated "
            "from marts.account_weekly where is_complete and week_start + 6 <= ? "
            "and platform in ('instagram', 'facebook', 'tiktok')",
            params=[END],
        ).fetchall()
    assert len(weeks) >= 4 * 4
    for platform, account_id, monday, views, estimated in weeks:
        truth = account_week_truth(social, account_id, monday)
        assert abs(views - truth) <= 0.02 * truth + estimated, (platform, monday, views, truth)
        if platform == "facebook":
            assert (views, estimated) == (truth, 0), monday


def test_a_counter_that_goes_down_is_a_correction_not_a_negative_day(tmp_path, social_sandbox):
    """Platforms remove spam views: the read after it is lower than the one before. The
    night publishes; the correction is counted in data_quality; no day goes negative."""
    social, sandbox = social_sandbox.social, social_sandbox
    day = END - timedelta(days=4)
    cfg = social_config(tmp_path, sandbox, "corrected")
    account = social.by_platform("instagram")[0]
    # a post read every night at these ages: young on both mornings
    post = next(p for p in account.posts if (day - p.publish_date).days == 1 and not p.is_story)
    try:
        sandbox.clock = day
        pipeline.backfill(cfg, START, day - timedelta(days=1), with_report=False)
        # the next read shows half of this morning's views
        later = social.lifetime(post, day + timedelta(days=1))["views"]
        removed = later - social.lifetime(post, day)["views"] // 2
        social.corrections[post.post_id] = (day + timedelta(days=1), "views", removed)
        sandbox.clock = day + timedelta(days=1)
        steps = pipeline.run_night(cfg, day, with_report=False)
    finally:
        social.corrections.clear()
        sandbox.clock = END - timedelta(days=2)
    assert not [e for s in steps for e in s.errors]
    with connect(cfg.paths.analytics, read_only=True) as con:
        corrected = con.sql(
            "select sum(items_corrected), sum(views_corrected) from marts.data_quality "
            "where account_id = ?",
            params=[account.account_id],
        ).fetchall()[0]
        negative = con.sql("select count(*) from marts.post_daily where views < 0").fetchall()
        days = con.sql(
            "select views from marts.post_daily where item_id = ? and date = ?",
            params=[post.post_id, day],
        ).fetchall()
    assert corrected[0] == 1 and corrected[1] < 0
    assert negative == [(0,)] and days == [(0,)]
