"""The Instagram and Facebook connectors over real HTTP against the Graph API sandbox.

Driven through the pipeline's `extract_source` (the way a night runs them), so the landed
Parquet files are what is checked: items, lifetime snapshots, account days, issues.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest
import requests
import yaml

import connectors.graph as graph
import connectors.retry as retry
from connectors import social
from connectors.graph import GraphClient, max_usage_percent, plan_metrics, refused_metric
from connectors.instagram import settings as ig_settings
from connectors.instagram.settings import InstagramSource
from contentpulse.config import Config, load_config
from contentpulse.credentials import Connection
from contentpulse.errors import CredentialsError
from contentpulse.pipeline import extract_source
from contentpulse.streams import Window
from sandbox import ChannelSpec, Fault, Portfolio, Sandbox
from sandbox.graph_api import GraphApi
from sandbox.social_portfolio import (
    SocialAccountSpec,
    SocialPortfolio,
    with_insight_gaps,
)

END = date(2026, 11, 20)
CLOCK = date(2026, 11, 22)  # the sandbox's today: snapshots are for CLOCK - 1
SNAPSHOT = CLOCK - timedelta(days=1)
WINDOW = Window(CLOCK - timedelta(days=35), SNAPSHOT)
IG_TRUTH = {  # landed column -> the portfolio's counter
    "like_count": "likes",
    "comments_count": "comments",
    "views": "views",
    "reach": "reach",
    "saved": "saves",
    "shares": "shares",
    "likes": "likes",
    "comments": "comments",
}
FB_TRUTH = {
    "reactions": "likes",
    "comments": "comments",
    "shares": "shares",
    "post_media_view": "views",
    "post_total_media_view_unique": "reach",
    "post_clicks": "clicks",
}


@pytest.fixture
def social_portfolio() -> SocialPortfolio:
    return SocialPortfolio(
        [
            SocialAccountSpec("instagram", "graph.one", 26, "America/New_York"),
            SocialAccountSpec("facebook", "Graph Page", 16, "UTC", 0.7),
        ],
        start=END - timedelta(days=40),
        end=END,
    )


@pytest.fixture
def api(social_portfolio: SocialPortfolio) -> GraphApi:
    return GraphApi(social_portfolio)


@pytest.fixture
def sandbox(api: GraphApi):
    tiny = Portfolio([ChannelSpec("Tiny", 2, "UTC")], start=END - timedelta(days=5), end=END)
    with Sandbox(tiny, clock=CLOCK) as sb:
        sb.mount(api)
        yield sb


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr(retry, "sleep", lambda s: None)
    monkeypatch.setattr(graph, "sleep", lambda s: None)


def write_config(
    root: Path, sandbox: Sandbox, portfolio: SocialPortfolio, **source: object
) -> Config:
    def block(platform: str) -> dict:
        return {
            "base_url": f"{sandbox.base_url}/graph",
            "batch_size": 5,
            "concurrency": 1,
            "max_calls_per_second": None,
            **source,
            "accounts": [
                {
                    "id": a.account_id,
                    "name": a.name,
                    "timezone": a.timezone,
                    "conn_id": f"{platform}_sandbox",
                }
                for a in portfolio.by_platform(platform)
            ],
        }

    text = {
        "paths": {"landing": str(root / "landing"), "warehouse": str(root / "w.duckdb")},
        "sources": {"instagram": block("instagram"), "facebook": block("facebook")},
    }
    path = root / "contentpulse.yml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    return load_config(path)


def run(cfg: Config, platform: str, run_id: str = "r1"):
    source = dict(cfg.iter_sources())[platform]
    return extract_source(cfg, platform, [a.id for a in source.accounts], WINDOW, run_id)


def landed(cfg: Config, platform: str, stream: str) -> pd.DataFrame:
    folder = cfg.paths.landing / f"source={platform}" / f"stream={stream}"
    files = sorted(str(p) for p in folder.glob("account=*/window=*/*.parquet"))
    if not files:
        return pd.DataFrame()
    return ds.dataset(files, format="parquet").to_table().to_pandas()


def snapshot_values(cfg: Config, platform: str) -> pd.DataFrame:
    """The landed snapshots without their run stamps, in a stable order."""
    snaps = landed(cfg, platform, "content_snapshots").drop(columns=["extracted_at", "run_id"])
    return snaps.sort_values(["item_id", "snapshot_date"]).reset_index(drop=True)


def value(row, column):
    v = row[column]
    return None if pd.isna(v) else int(v)


@pytest.mark.parametrize("platform", ["instagram", "facebook"])
def test_backfill_lands_exactly_the_ground_truth(tmp_path, sandbox, social_portfolio, platform):
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    step = run(cfg, platform)
    assert step.errors == []
    account = social_portfolio.by_platform(platform)[0]
    visible = social_portfolio.visible_posts(account, CLOCK)
    items = landed(cfg, platform, "content_items").set_index("item_id")
    assert set(items.index) == {p.post_id for p in visible}
    snaps = landed(cfg, platform, "content_snapshots").set_index("item_id")
    assert set(snaps.index) == {p.post_id for p in visible} and snaps.index.is_unique
    assert (snaps.snapshot_date == SNAPSHOT).all()
    truth_map = IG_TRUTH if platform == "instagram" else FB_TRUTH
    for post in visible:
        life = social_portfolio.lifetime(post, CLOCK)
        row = snaps.loc[post.post_id]
        for column, counter in truth_map.items():
            assert value(row, column) == life[counter], (post.post_id, column)
        item = items.loc[post.post_id]
        assert item.description == post.caption and item.url == post.permalink
        assert item.published_at == pd.Timestamp(post.published_at)
        if platform == "instagram":
            assert item.format == {"REELS": "reel", "STORY": "story"}.get(
                post.product_type, "carousel" if post.media_type == "CAROUSEL_ALBUM" else "post"
            )
            watch = value(row, "ig_reels_video_view_total_time")
            assert watch == (life["watch_time_s"] * 1000 if post.product_type == "REELS" else None)
            assert value(row, "replies") == (life["comments"] if post.is_story else None)
        else:
            assert item.format == ("video" if post.media_type == "video" else "post")
            watch = value(row, "post_video_view_time")
            assert watch == (life["watch_time_s"] * 1000 if post.media_type == "video" else None)
    accounts = landed(cfg, platform, "account_snapshots")
    followers = social_portfolio.followers(account, CLOCK)
    assert accounts.followers_count.tolist() == [followers]
    assert accounts.snapshot_date.tolist() == [SNAPSHOT]
    daily = landed(cfg, platform, "account_daily").set_index("date")
    # the account's days from its first post on: before it, Graph answers zeros for nothing
    first = max(WINDOW.start, min(p.publish_date for p in visible))
    assert sorted(daily.index) == [
        first + timedelta(days=i) for i in range((WINDOW.end - first).days + 1)
    ]
    reach = "reach" if platform == "instagram" else "page_total_media_view_unique"
    gained = "follower_count" if platform == "instagram" else "page_daily_follows_unique"
    for day, row in daily.iterrows():
        truth = social_portfolio.account_day(account, day)
        assert (row[reach], row[gained]) == (truth["reach"], truth["follows"])
    views = daily["views" if platform == "instagram" else "page_media_view"].tolist()
    assert views == [social_portfolio.account_day(account, d)["views"] for d in daily.index]
    assert landed(cfg, platform, "insight_issues").empty
    log = landed(cfg, platform, "extract_log")
    assert log.items_read.sum() == len(visible) and (log.items_due == log.items_read).all()


def test_instagram_account_views_are_read_one_day_a_call_as_a_total_value(
    tmp_path, sandbox, social_portfolio, api
):
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "instagram").errors == []
    account = social_portfolio.by_platform("instagram")[0]
    asked = [
        dict(p.split("=", 1) for p in r.split("?", 1)[1].split("&"))
        for r in api.requests
        if r.startswith(f"/graph/v24.0/{account.account_id}/insights?")
        and "metric_type=total_value" in r
    ]
    days = [WINDOW.start + timedelta(days=i) for i in range(WINDOW.days)]
    assert [q["since"] for q in asked] == [d.isoformat() for d in days]
    assert all(q["metric"] == "views" and q["period"] == "day" for q in asked)
    assert [q["until"] for q in asked] == [(d + timedelta(days=1)).isoformat() for d in days]


def test_the_sandbox_answers_account_views_as_instagram_does(sandbox, social_portfolio):
    account = social_portfolio.by_platform("instagram")[0]
    url = f"{sandbox.base_url}/graph/v24.0/{account.account_id}/insights"
    token = {"access_token": "sandbox-graph-user-token"}
    week = {"since": (SNAPSHOT - timedelta(days=6)).isoformat(), "until": CLOCK.isoformat()}
    # views asked as a time series: refused, as Meta refuses it
    refused = requests.get(
        url, params={"metric": "views", "period": "day", **week, **token}, timeout=10
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == (100, "OAuthException")
    assert error["message"] == (
        "(#100) The following metrics (views) should be specified with parameter "
        "metric_type=total_value"
    )
    # as a total_value: one number over since..until, the sum of the days' views
    total = requests.get(
        url,
        params={"metric": "views", "metric_type": "total_value", "period": "day", **week, **token},
        timeout=10,
    ).json()["data"]
    truth = sum(
        social_portfolio.account_day(account, SNAPSHOT - timedelta(days=i))["views"]
        for i in range(7)
    )
    assert [(e["name"], e["total_value"]) for e in total] == [("views", {"value": truth})]
    assert "values" not in total[0]
    # a day Meta no longer keeps (two years) or not over yet: an empty set, not 0
    for day in (CLOCK - timedelta(days=731), CLOCK):
        params = {"since": day.isoformat(), "until": (day + timedelta(days=1)).isoformat()}
        empty = requests.get(
            url,
            params={"metric": "views", "metric_type": "total_value", **params, **token},
            timeout=10,
        ).json()
        assert empty == {"data": []}


def test_token_travels_in_the_header_and_carousel_children_are_never_asked(
    tmp_path, sandbox, social_portfolio, api
):
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "instagram").errors == []
    assert api.requests and not any("access_token" in r for r in api.requests)
    children = {c for p in social_portfolio.posts_by_id.values() for c in p.children}
    assert children, "the portfolio should have carousels"
    assert not any(c in r for r in api.requests for c in children)


def test_rerun_duplicates_nothing_and_older_posts_are_not_read_every_night(
    tmp_path, sandbox, social_portfolio, api
):
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "instagram", "first").errors == []
    first = snapshot_values(cfg, "instagram")
    account = social_portfolio.by_platform("instagram")[0]
    post_reads = lambda: sum(  # noqa: E731
        "/insights?metric=views" in r and account.account_id not in r for r in api.requests
    )
    insights_before = post_reads()
    assert run(cfg, "instagram", "again").errors == []
    assert snapshot_values(cfg, "instagram").equals(first)  # nothing new for the same day
    assert post_reads() == insights_before
    # the next night: only the posts the re-poll schedule says are due
    sandbox.clock = CLOCK + timedelta(days=1)
    assert run(cfg, "instagram", "next").errors == []
    snaps = landed(cfg, "instagram", "content_snapshots")
    read = set(snaps[snaps.snapshot_date == CLOCK].item_id)
    expected = set()
    for post in social_portfolio.visible_posts(account, CLOCK + timedelta(days=1)):
        published = pd.Timestamp(post.published_at).tz_convert(account.timezone).date()
        last = SNAPSHOT if post.post_id in set(first.item_id) else None
        if social.due(published, last, CLOCK):
            expected.add(post.post_id)
    assert read == expected
    assert 0 < len(read) < len(social_portfolio.visible_posts(account, CLOCK))


def test_paging_follows_the_absolute_next_url(
    tmp_path, sandbox, social_portfolio, api, monkeypatch
):
    monkeypatch.setattr(ig_settings, "PAGE_LIMIT", 7)
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "instagram").errors == []
    account = social_portfolio.by_platform("instagram")[0]
    feed = [p for p in social_portfolio.visible_posts(account, CLOCK) if not p.is_story]
    pages = [r for r in api.requests if r.startswith(f"/graph/v24.0/{account.account_id}/media")]
    assert len(pages) == math.ceil(len(feed) / 7) > 1
    assert all("after=" in r for r in pages[1:])
    items = landed(cfg, "instagram", "content_items")
    assert {p.post_id for p in feed} <= set(items.item_id)
    # the API caps `limit` and its next link is absolute, on the sandbox's own address
    body = requests.get(
        f"{sandbox.base_url}/graph/v24.0/{account.account_id}/media",
        params={"limit": 500, "fields": "id", "access_token": "sandbox-graph-user-token"},
        timeout=10,
    ).json()
    assert len(body["data"]) == min(len(feed), 100)
    assert set(body["paging"]["cursors"]) == {"before", "after"}


def test_a_retired_metric_in_config_is_reported_and_the_rest_loads(
    tmp_path, sandbox, social_portfolio, api
):
    metrics = {"REELS": ["plays", "views", "reach"], "FEED": ["impressions", "views"]}
    cfg = write_config(tmp_path, sandbox, social_portfolio, metrics=metrics)
    assert run(cfg, "instagram").errors == []
    assert not any("plays" in r or "impressions" in r for r in api.requests)
    snaps = landed(cfg, "instagram", "content_snapshots").set_index("item_id")
    issues = landed(cfg, "instagram", "insight_issues")
    account = social_portfolio.by_platform("instagram")[0]
    for post in social_portfolio.visible_posts(account, CLOCK):
        life, row = social_portfolio.lifetime(post, CLOCK), snaps.loc[post.post_id]
        if post.product_type in metrics:
            assert value(row, "views") == life["views"]
            assert value(row, "saved") is None  # not asked for in this config
            retired = issues[issues.item_id == post.post_id]
            assert retired.code.tolist() == ["retired"]
            assert retired.metric.tolist() == [metrics[post.product_type][0]]
            assert "views" in retired.message.iloc[0]
        else:  # STORY: no config entry, the registry's current set
            assert value(row, "reach") == life["reach"]


def test_a_metric_the_api_refuses_is_dropped_alone(tmp_path, sandbox, social_portfolio, api):
    metrics = {"FEED": ["views", "not_a_metric", "reach"], "REELS": ["views", "profile_visits"]}
    cfg = write_config(tmp_path, sandbox, social_portfolio, metrics=metrics)
    assert run(cfg, "instagram").errors == []
    snaps = landed(cfg, "instagram", "content_snapshots").set_index("item_id")
    issues = landed(cfg, "instagram", "insight_issues")
    account = social_portfolio.by_platform("instagram")[0]
    for post in social_portfolio.visible_posts(account, CLOCK):
        life, row = social_portfolio.lifetime(post, CLOCK), snaps.loc[post.post_id]
        mine = issues[issues.item_id == post.post_id]
        if post.product_type == "FEED":  # refused by the API: error 100 naming metric[1]
            assert (value(row, "views"), value(row, "reach")) == (life["views"], life["reach"])
            assert mine[["metric", "code"]].values.tolist() == [["not_a_metric", "100"]]
        elif post.product_type == "REELS":  # the registry knows Reels have no profile visits
            assert value(row, "views") == life["views"]
            assert mine[["metric", "code"]].values.tolist() == [["profile_visits", "unsupported"]]


def test_facebook_refusal_naming_no_metric_is_narrowed_down(
    tmp_path, sandbox, social_portfolio, api
):
    metrics = {"FEED": ["post_media_view", "post_bogus"], "VIDEO": ["post_impressions"]}
    cfg = write_config(tmp_path, sandbox, social_portfolio, metrics=metrics)
    assert run(cfg, "facebook").errors == []
    snaps = landed(cfg, "facebook", "content_snapshots").set_index("item_id")
    issues = landed(cfg, "facebook", "insight_issues")
    account = social_portfolio.by_platform("facebook")[0]
    for post in social_portfolio.visible_posts(account, CLOCK):
        row, mine = snaps.loc[post.post_id], issues[issues.item_id == post.post_id]
        if post.product_type == "FEED":
            life = social_portfolio.lifetime(post, CLOCK)
            assert value(row, "post_media_view") == life["views"]
            assert mine[["metric", "code"]].values.tolist() == [["post_bogus", "100"]]
        else:
            assert value(row, "post_media_view") is None
            assert value(row, "reactions") == social_portfolio.lifetime(post, CLOCK)["likes"]
            assert mine[["metric", "code"]].values.tolist() == [["post_impressions", "retired"]]


def test_empty_insights_stay_null_and_error_10_is_recorded(
    tmp_path, sandbox, social_portfolio, api
):
    account = social_portfolio.by_platform("instagram")[0]
    visible = social_portfolio.visible_posts(account, CLOCK)
    reaches = sorted(social_portfolio.lifetime(p, CLOCK)["reach"] for p in visible)
    api.min_viewers = reaches[3]  # the three least-reached posts: not enough viewers
    few = {p.post_id for p in visible if social_portfolio.lifetime(p, CLOCK)["reach"] < reaches[3]}
    empty = next(p for p in visible if p.post_id not in few)
    api.empty_insights = {empty.post_id}
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "instagram").errors == []
    snaps = landed(cfg, "instagram", "content_snapshots").set_index("item_id")
    assert len(snaps) == len(visible)
    row = snaps.loc[empty.post_id]
    assert value(row, "views") is None and value(row, "reach") is None
    assert value(row, "like_count") == social_portfolio.lifetime(empty, CLOCK)["likes"]
    issues = landed(cfg, "instagram", "insight_issues")
    viewers = issues[issues.code == "10"]
    assert set(viewers.item_id) == few
    assert viewers.message.str.contains("Not enough viewers").all()
    # an empty answer is recorded too, for every metric asked: why the post has no views
    answered = issues[issues.code == "empty"]
    assert set(answered.item_id) == {empty.post_id} and "views" in set(answered.metric)
    assert set(issues.code) == {"10", "empty"}
    for post_id in few:
        assert value(snaps.loc[post_id], "views") is None


def test_media_meta_gives_no_insights_for_land_null_and_are_recorded_empty(
    tmp_path, sandbox, social_portfolio
):
    gaps = with_insight_gaps(social_portfolio, business_after_days=20).insight_gaps
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    for platform, views in (("instagram", "views"), ("facebook", "post_media_view")):
        assert run(cfg, platform).errors == []
        account = social_portfolio.by_platform(platform)[0]
        visible = social_portfolio.visible_posts(account, CLOCK)
        empty = {p.post_id for p in visible if gaps.empty(p, CLOCK)}
        assert empty and empty != {p.post_id for p in visible}
        snaps = landed(cfg, platform, "content_snapshots").set_index("item_id")
        assert {i for i in snaps.index if value(snaps.loc[i], views) is None} == empty
        issues = landed(cfg, platform, "insight_issues")
        assert set(issues[issues.metric == views].item_id) == empty
        assert set(issues.code) == {"empty"}
    # a story asked after it expired: empty data, not an error
    story = next(
        p
        for p in social_portfolio.by_platform("instagram")[0].posts
        if p.is_story and (CLOCK - p.publish_date).days > 2
    )
    body = requests.get(
        f"{sandbox.base_url}/graph/v24.0/{story.post_id}/insights",
        params={"metric": "views", "access_token": "sandbox-graph-user-token"},
        timeout=10,
    ).json()
    assert body == {"data": []}


def test_usage_headers_slow_the_run_down(tmp_path, sandbox, social_portfolio, api, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(graph, "sleep", waits.append)
    assert (
        run(write_config(tmp_path / "count", sandbox, social_portfolio), "instagram").errors == []
    )
    calls = api.calls
    api.reset_usage()
    api.account_capacity = int(calls / 0.9)  # the last calls of a run past 75 %, none at 95 %
    cfg = write_config(tmp_path / "paced", sandbox, social_portfolio, slow_down_s=1.5)
    assert run(cfg, "instagram").errors == []
    assert waits and set(waits) == {1.5}
    account = social_portfolio.by_platform("instagram")[0]
    assert len(landed(cfg, "instagram", "content_snapshots")) == len(
        social_portfolio.visible_posts(account, CLOCK)
    )


@pytest.mark.parametrize("how", ["usage", "throttling code", "call limit"])
def test_a_throttled_run_stops_cleanly_and_resumes_to_the_same_snapshots(
    tmp_path, sandbox, social_portfolio, api, how
):
    account = social_portfolio.by_platform("instagram")[0]
    visible = social_portfolio.visible_posts(account, CLOCK)
    whole = write_config(tmp_path / "whole", sandbox, social_portfolio)
    assert run(whole, "instagram").errors == []
    # the items unit's calls: the account, its media and stories, its insights of the window
    items = sum(f"/{account.account_id}" in r for r in api.requests)
    api.reset_usage()

    cfg = write_config(tmp_path / "cut", sandbox, social_portfolio)
    if how == "usage":
        # stop_at 95 % comes 19 calls of this account after its items unit
        api.account_capacity = items + 20
    elif how == "call limit":
        api.throttle_after = items + 15  # then error 613 on every call
    else:
        sandbox.faults.add(Fault(f"/graph/v24.0/{visible[12].post_id}/insights", "quota"))
    first = run(cfg, "instagram", "cut1")
    assert len(first.errors) == 1 and "next run resumes" in first.errors[0]
    assert "left for the next run" in first.errors[0]
    partial = landed(cfg, "instagram", "content_snapshots")
    assert 0 < len(partial) < len(visible)

    api.reset_usage()
    api.account_capacity = 20_000
    assert run(cfg, "instagram", "cut2").errors == []
    assert snapshot_values(cfg, "instagram").equals(snapshot_values(whole, "instagram"))


def test_transient_failures_are_retried(tmp_path, sandbox, social_portfolio):
    account = social_portfolio.by_platform("facebook")[0]
    posts = social_portfolio.visible_posts(account, CLOCK)
    for i, fault in enumerate(
        [
            Fault("", "status", status=429, retry_after=1),
            Fault("", "status", status=500),
            Fault("", "malformed"),
            Fault("", "truncated"),
        ]
    ):
        fault.path = f"/graph/v24.0/{posts[i].post_id}/insights"
        sandbox.faults.add(fault)
    sandbox.faults.add(Fault(f"/graph/v24.0/{account.account_id}/posts", "status", status=503))
    cfg = write_config(tmp_path, sandbox, social_portfolio)
    assert run(cfg, "facebook").errors == []
    log = landed(cfg, "facebook", "extract_log")
    assert log.retries.sum() == 4  # the listing's retry is counted by its own unit
    snaps = landed(cfg, "facebook", "content_snapshots").set_index("item_id")
    for post in posts[:4]:
        views = social_portfolio.lifetime(post, CLOCK)["views"]
        assert value(snaps.loc[post.post_id], "post_media_view") == views


def test_a_timeout_is_retried(sandbox, social_portfolio):
    account = social_portfolio.by_platform("instagram")[0]
    sandbox.faults.add(Fault(f"/graph/v24.0/{account.account_id}", "slow", delay_s=1.0))
    source = InstagramSource(base_url=f"{sandbox.base_url}/graph", timeout_s=0.2)
    conn = Connection("instagram_sandbox", extra={"access_token": "sandbox-graph-user-token"})
    with GraphClient("instagram", account.account_id, conn, source) as client:
        body = client.get(account.account_id, {"fields": "id,username"}).body
    assert body == {"id": account.account_id, "username": account.username}
    assert client.calls.retries == 1 and client.calls.calls == 2


def test_the_sandbox_caps_limit_and_links_the_next_page_absolutely(sandbox):
    big = SocialPortfolio(
        [SocialAccountSpec("instagram", "big", 160)], start=END - timedelta(days=60), end=END
    )
    account = big.accounts[0]
    with Sandbox(sandbox.portfolio, clock=CLOCK) as other:
        other.mount(GraphApi(big))
        url = f"{other.base_url}/graph/v24.0/{account.account_id}/media"
        token = {"access_token": "sandbox-graph-user-token"}
        body = requests.get(url, params={"limit": 500, "fields": "id", **token}, timeout=10).json()
        assert len(body["data"]) == 100
        assert body["paging"]["next"].startswith(f"{url}?")
        assert "access_token=" in body["paging"]["next"]  # as Meta does, when sent in the query
        rest = requests.get(body["paging"]["next"], timeout=10).json()
        feed = [p for p in big.visible_posts(account, CLOCK) if not p.is_story]
        ids = [m["id"] for m in body["data"] + rest["data"]]
        assert ids == [p.post_id for p in feed] and "next" not in rest["paging"]
        wrong = requests.get(url, params={"access_token": "sandbox-graph-page-token"}, timeout=10)
        assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 190


@pytest.mark.parametrize("fault", [None, "expired_token"])
def test_a_rejected_token_is_one_line_without_the_secret(sandbox, social_portfolio, fault):
    account = social_portfolio.by_platform("instagram")[0]
    token = "sandbox-graph-user-token" if fault else "EAAB-not-the-right-token"
    if fault:
        sandbox.faults.add(Fault("/graph/", fault))
    source = InstagramSource(base_url=f"{sandbox.base_url}/graph", max_attempts=2)
    conn = Connection("instagram_sandbox", extra={"access_token": token})
    with GraphClient("instagram", account.account_id, conn, source) as client:
        with pytest.raises(CredentialsError) as err:
            client.get(account.account_id, {"fields": "id"})
    text = str(err.value)
    assert "\n" not in text and token not in text
    assert account.account_id in text and "190" in text


def test_usage_headers_are_read_as_the_highest_percent():
    headers = {
        "X-App-Usage": '{"call_count": 12, "total_time": 30, "total_cputime": 4}',
        "X-Business-Use-Case-Usage": '{"1784": [{"type": "instagram", "call_count": 81, '
        '"total_cputime": 3, "total_time": 9, "estimated_time_to_regain_access": 0}]}',
    }
    assert max_usage_percent(headers) == 81
    assert max_usage_percent({"X-App-Usage": "not json"}) is None
    assert max_usage_percent({}) is None


def test_the_registry_plans_metrics_per_product_type():
    registry, today = ig_settings.REGISTRY, date(2026, 11, 21)
    stories, dropped = plan_metrics(registry, None, "STORY", today)
    assert "replies" in stories and "saved" not in stories and not dropped
    asked, dropped = plan_metrics(registry, {"REELS": ["plays", "views"]}, "REELS", today)
    assert asked == ["views"] and [(d.metric, d.code) for d in dropped] == [("plays", "retired")]
    before, _ = plan_metrics(registry, {"REELS": ["plays"]}, "REELS", date(2025, 1, 1))
    assert before == ["plays"]  # not yet retired then
    assert refused_metric("(#100) metric[1] must be one of: a, b", ["views", "x"]) == "x"
    message = "(#100) Starting from v22.0, the plays metric is no longer supported. Use views."
    assert refused_metric(message, ["views", "plays"]) == "plays"
    assert refused_metric("(#100) The value must be a valid insights metric", ["a", "b"]) is None
