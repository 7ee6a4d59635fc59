"""The TikTok connector over real HTTP against the sandbox's Display, OAuth and Business APIs.

Two accounts: a business account (organic insights too) and a creator account that is not
one (lifetime counters only). The pipeline drives the connector as a night or a backfill
does, so landing, re-poll state and resuming are those of production.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
import requests
import yaml

from connectors import social
from connectors import tiktok as connector
from connectors.tiktok import settings
from connectors.tiktok.client import TOKENS, RateLimited, business_outcome, display_outcome
from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.credentials import Connection, get_connection
from contentpulse.demo import write_sandbox_config
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.extraction import landed_state
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from models.runner import MODELS_DIR
from sandbox import Fault, Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from sandbox.tiktok_api import TikTokApi
from tests.conftest import CLOCK, END, small_portfolio

WINDOW = Window(END - timedelta(days=40), END)
METRICS = [name for name, _ in settings.SNAPSHOT_METRICS]


def tiktok_portfolio(business_posts: int = 35, creator_posts: int = 15) -> SocialPortfolio:
    return SocialPortfolio(
        [
            SocialAccountSpec("tiktok", "kumokitchen", business_posts, "Asia/Tokyo", 1.4),
            SocialAccountSpec(
                "tiktok", "rio.explains", creator_posts, "America/Sao_Paulo", 1.0, False
            ),
        ],
        start=END - timedelta(days=40),
        end=END,
    )


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch) -> list[float]:
    """Retries and rate-limit pauses happen, without the waiting; the pauses are recorded."""
    waits: list[float] = []
    monkeypatch.setattr("connectors.retry.sleep", waits.append)
    return waits


@pytest.fixture
def tt() -> Iterator[tuple[Sandbox, TikTokApi]]:
    social_portfolio = tiktok_portfolio()
    with Sandbox(small_portfolio(3, 10), clock=CLOCK) as sandbox:
        api = TikTokApi(social_portfolio)
        sandbox.mount(api)
        sandbox.social = social_portfolio  # the demo config lists its accounts
        yield sandbox, api


def make_cfg(tmp_path: Path, sandbox: Sandbox, name: str = "data", **tiktok) -> Config:
    path = write_sandbox_config(tmp_path / f"{name}.yml", sandbox, tmp_path / name)
    if tiktok:  # settings of this test on top of the sandbox's
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["sources"]["tiktok"].update(tiktok)
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def run(cfg: Config, run_id: str = "r1"):
    source = cfg.sources.tiktok
    return pipeline.extract_source(
        cfg, "tiktok", [a.id for a in source.accounts], WINDOW, run_id, resume=True
    )


def landed(cfg: Config, stream: str):
    folder = cfg.paths.landing / "source=tiktok" / f"stream={stream}"
    files = sorted(str(p) for p in folder.glob("account=*/window=*/*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pandas() if files else None


def snapshot_rows(cfg: Config) -> set[tuple]:
    """Every landed snapshot, without when or by which run it was read."""
    table = landed(cfg, "content_snapshots")
    columns = ["account_id", "item_id", "snapshot_date", *METRICS]
    return {
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in table[columns].itertuples(index=False)
    }


def truth(api: TikTokApi, clock: date) -> set[tuple]:
    """What every visible video's snapshot must hold at this clock."""
    rows = set()
    for account in api.accounts():
        for post in api.portfolio.visible_posts(account, clock):
            organic = api.organic(post, clock)
            business = {
                m: organic[m] if account.business else None
                for m in (*settings.BUSINESS_INT_METRICS, *settings.BUSINESS_FLOAT_METRICS)
            }
            counters = api.display_counters(post, clock)
            rows.add(
                (
                    account.account_id,
                    post.post_id,
                    clock - timedelta(days=1),
                    *(counters.get(m, business.get(m)) for m in METRICS),
                )
            )
    return rows


def test_backfill_lands_exactly_the_ground_truth(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    step = run(cfg)
    assert not step.errors
    assert snapshot_rows(cfg) == truth(api, CLOCK)
    items = landed(cfg, "content_items").set_index("item_id")
    posts = {p.post_id: p for a in api.accounts() for p in api.portfolio.visible_posts(a, CLOCK)}
    assert set(items.index) == set(posts)
    for item_id, post in posts.items():
        row = items.loc[item_id]
        assert row.description == post.caption  # hostile captions verbatim
        assert row.published_at.to_pydatetime() == post.published_at
        assert row.duration_s == post.duration_s
        assert row.url == post.permalink
        assert row.format == "short"
    followers = landed(cfg, "account_snapshots").set_index("account_id").follower_count
    for account in api.accounts():
        assert followers[account.account_id] == api.portfolio.followers(account, CLOCK)


def test_business_account_gets_organic_insights_and_the_other_none(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    run(cfg)
    business, creator = api.accounts()
    snaps = landed(cfg, "content_snapshots").set_index("account_id")
    assert snaps.loc[business.account_id].reach.notna().all()
    assert snaps.loc[business.account_id].full_video_watched_rate.between(0, 1).all()
    assert snaps.loc[creator.account_id][list(settings.BUSINESS_INT_METRICS)].isna().all().all()
    calls = api.calls["/open_api/v1.3/business/video/list/"]
    assert calls == math.ceil(len(business.posts) / settings.PAGE_SIZE) > 0
    assert landed(cfg, "insight_issues") is None or landed(cfg, "insight_issues").empty


def account_days(cfg: Config) -> dict[tuple[str, date], dict]:
    """The landed account days by (account, date): the newest read of each."""
    table = landed(cfg, "account_daily")
    if table is None:
        return {}
    table = table.sort_values("extracted_at")
    return {
        (r.account_id, r.date): {
            m: None if math.isnan(getattr(r, m)) else int(getattr(r, m))
            for m in settings.ACCOUNT_METRICS
        }
        for r in table.itertuples()
    }


def truth_day(portfolio: SocialPortfolio, account, day: date) -> dict:
    truth = portfolio.account_day(account, day)
    return {
        "video_views": truth["views"],
        "profile_views": truth["clicks"],
        "likes": truth["likes"],
        "comments": truth["comments"],
        "shares": truth["shares"],
        "followers_count": truth["followers"],
    }


def test_business_account_days_are_the_truth_up_to_tiktoks_lag(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    assert not run(cfg, "backfill").errors
    business, creator = api.accounts()
    newest = CLOCK - timedelta(days=2)  # TikTok's newest day lags two days behind the clock
    first = WINDOW.start - timedelta(days=1)  # the window and the day before it
    days = account_days(cfg)
    assert sorted(days) == [
        (business.account_id, first + timedelta(days=i)) for i in range((newest - first).days + 1)
    ]
    for (_, day), landed_day in days.items():
        assert landed_day == truth_day(api.portfolio, business, day), day
    assert api.calls["/open_api/v1.3/business/get/"] == 1  # one call for the whole window
    # the next night reads the lookback days: the day that lagged comes, today's does not yet
    sandbox.clock = CLOCK + timedelta(days=1)
    night = Window(CLOCK - timedelta(days=2), CLOCK)
    source = cfg.sources.tiktok
    step = pipeline.extract_source(cfg, "tiktok", [a.id for a in source.accounts], night, "n1")
    assert not step.errors
    days = account_days(cfg)
    assert max(days)[1] == CLOCK - timedelta(days=1) and creator.account_id not in {
        a for a, _ in days
    }
    assert days[(business.account_id, CLOCK - timedelta(days=1))] == truth_day(
        api.portfolio, business, CLOCK - timedelta(days=1)
    )
    assert api.calls["/open_api/v1.3/business/get/"] == 2
    # a platform a day late only (the sandbox's lag is a setting): the night's last day too
    api.portfolio.tiktok_account_lag_days = 1
    step = pipeline.extract_source(cfg, "tiktok", [a.id for a in source.accounts], night, "n2")
    assert not step.errors and max(account_days(cfg))[1] == CLOCK


def test_account_days_go_through_the_clients_retries_and_token_refresh(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    account = next(a for a in source.accounts if a.id in source.business_accounts)
    path = "/tiktok-business/open_api/v1.3/business/get/"
    # HTTP 200 with code 50002 (retried), then 40105 (the token refreshed), then the answer
    sandbox.faults.add(Fault(path, "status", status=503))
    sandbox.faults.add(Fault(path, "status", status=401))
    refreshes = api.calls["/v2/oauth/token/"]
    items, _ = connector.extract_items(
        account, WINDOW, source, get_connection(account.conn_id), "r"
    )
    assert items.calls.retries == 1 and api.calls["/v2/oauth/token/"] == refreshes + 2
    assert api.calls["/open_api/v1.3/business/get/"] == 3
    days = items.tables["account_daily"].to_pylist()
    portfolio, business = api.portfolio, api.account(account.id)
    assert days and all(
        {m: d[m] for m in settings.ACCOUNT_METRICS} == truth_day(portfolio, business, d["date"])
        for d in days
    )


def test_a_backfill_reads_only_the_days_tiktok_keeps(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    business = api.accounts()[0]
    long_ago = Window(END - timedelta(days=120), END)
    step = pipeline.extract_source(cfg, "tiktok", [business.account_id], long_ago, "long")
    assert not step.errors
    oldest, newest = api.portfolio.tiktok_account_days(CLOCK)
    days = sorted(day for _, day in account_days(cfg))
    # TikTok's oldest day, less the connector's day of margin for time zones
    assert days[0] == oldest + timedelta(days=1) and days[-1] == newest
    assert len(days) == (newest - days[0]).days + 1
    # asked for older days, the Business API refuses the request with HTTP 200 and code 40002
    account = next(a for a in source.accounts if a.id == business.account_id)
    with connector._client(account, source, get_connection(account.conn_id), None) as client:
        with pytest.raises(SourceError) as err:
            client.business(
                settings.BUSINESS_GET,
                {
                    "business_id": account.id,
                    "start_date": (oldest - timedelta(days=1)).isoformat(),
                    "end_date": newest.isoformat(),
                    "fields": '["video_views"]',
                },
            )
    assert "code 40002" in str(err.value) and "within the last 60 days" in str(err.value)


def test_a_small_account_lands_null_followers_and_profile_views(tmp_path):
    portfolio = SocialPortfolio(
        [SocialAccountSpec("tiktok", "tiny.shop", 12, "Asia/Tokyo", 0.2, small=True)],
        start=END - timedelta(days=20),
        end=END,
    )
    with Sandbox(small_portfolio(1, 3), clock=CLOCK) as sandbox:
        sandbox.mount(TikTokApi(portfolio))
        sandbox.social = portfolio
        cfg = make_cfg(tmp_path, sandbox)
        assert not run(cfg).errors
    account = portfolio.accounts[0]
    days = account_days(cfg)
    assert len(days) == (CLOCK - timedelta(days=2) - WINDOW.start).days + 2
    for (_, day), values in days.items():
        truth = truth_day(portfolio, account, day)
        assert values == truth | {"followers_count": None, "profile_views": None}, day
    pipeline.load(cfg)
    sql = (MODELS_DIR / "staging" / "stg_tiktok__account_daily.sql").read_text()
    with connect(cfg.paths.warehouse, read_only=True) as con:
        staged = con.sql(
            "select count(*), count(views), count(followers), count(followers_gained), "
            f"count(followers_lost) from ({sql})"
        ).fetchall()
    assert staged == [(len(days), len(days), 0, 0, 0)]  # no total: no change of it either


def test_the_followers_totals_rise_is_gained_its_fall_lost_and_a_gap_neither():
    """stg_tiktok__account_daily on hand-made raw days: the change from the day before, a
    rise as followers_gained and a fall as followers_lost; NULL both after a missing day
    or next to a missing total (never 0)."""
    totals = [(1, 100), (2, 110), (3, 105), (4, None), (5, 107), (7, 110), (8, 110)]
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        "create table raw.tiktok__account_daily (account_id varchar, date date, "
        "video_views bigint, profile_views bigint, likes bigint, comments bigint, "
        "shares bigint, followers_count bigint, extracted_at timestamptz, run_id varchar, "
        "landing_file varchar)"
    )
    for day, total in totals:
        con.execute(
            "insert into raw.tiktok__account_daily values ('tt_1', ?, 10, 1, 2, 3, 4, ?, "
            "now(), 'r', 'f')",
            [date(2026, 11, day), total],
        )
    sql = (MODELS_DIR / "staging" / "stg_tiktok__account_daily.sql").read_text()
    staged = con.sql(
        f"select day(date), followers_gained, followers_lost from ({sql}) order by date"
    ).fetchall()
    con.close()
    assert staged == [
        (1, None, None),  # nothing before it
        (2, 10, 0),
        (3, 0, 5),
        (4, None, None),  # no total
        (5, None, None),  # no total the day before
        (7, None, None),  # the day before not landed
        (8, 0, 0),
    ]


def test_rerun_duplicates_nothing_and_lists_only_new_videos(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    run(cfg, "first")
    first = len(landed(cfg, "content_snapshots"))
    listed = api.calls["/v2/video/list/"]
    assert listed == sum(math.ceil(len(a.posts) / settings.PAGE_SIZE) for a in api.accounts())
    step = run(cfg, "second")
    assert not step.errors
    assert len(landed(cfg, "content_snapshots")) == first  # read today already: none due
    assert api.calls["/v2/video/list/"] - listed == len(api.accounts())  # one page each


def test_paging_asks_at_most_twenty_a_call(tmp_path, tt):
    sandbox, _api = tt
    base = f"{sandbox.base_url}/tiktok"
    cfg = make_cfg(tmp_path, sandbox)
    run(cfg)  # pages 20 at a time, or the sandbox would have refused
    token = requests.post(
        f"{base}/v2/oauth/token/",
        data={
            **{k: get_connection("tiktok_sandbox").value(k) for k in ("client_key",)},
            "client_secret": get_connection("tiktok_sandbox").value("client_secret"),
            "refresh_token": get_connection("tiktok_sandbox").value("refresh_token"),
            "grant_type": "refresh_token",
        },
        timeout=5,
    ).json()["access_token"]
    refused = requests.post(
        f"{base}/v2/video/list/?fields=id",
        json={"max_count": 50},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_params"


def test_expired_token_is_refreshed_once_and_the_run_goes_on(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    account = source.accounts[1]
    conn = get_connection(account.conn_id)
    list(connector.extract(account, WINDOW, source, conn, "warm"))  # a token in memory
    refreshes = api.calls["/v2/oauth/token/"]
    sandbox.faults.add(Fault("/tiktok/v2/video/query/", "expired_token"))
    sandbox.clock = CLOCK + timedelta(days=1)
    results = list(connector.extract(account, WINDOW, source, conn, "after"))
    assert api.calls["/v2/oauth/token/"] == refreshes + 1
    assert sum(r.tables["content_snapshots"].num_rows for r in results[1:]) > 0


def test_token_about_to_expire_is_refreshed_before_a_call_is_refused(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    account = source.accounts[1]
    conn = get_connection(account.conn_id)
    connector.extract_items(account, WINDOW, source, conn, "warm")
    refreshes, reads = api.calls["/v2/oauth/token/"], api.calls["/v2/user/info/"]
    connector.extract_items(account, WINDOW, source, conn, "cached")
    assert api.calls["/v2/oauth/token/"] == refreshes  # the token is kept in memory
    for token in TOKENS._tokens.values():
        token.expires_at = time.time() + 60  # inside the margin: refresh first
    connector.extract_items(account, WINDOW, source, conn, "renewed")
    assert api.calls["/v2/oauth/token/"] == refreshes + 1
    assert api.calls["/v2/user/info/"] == reads + 2  # no call was refused on the way


def test_rotated_refresh_token_is_used_next_and_never_logged(tmp_path, tt, caplog):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    account = source.accounts[0]
    conn = get_connection(account.conn_id)
    api.rotate_refresh_tokens = True
    connector.extract_items(account, WINDOW, source, conn, "first")
    api.expire_tokens()
    connector.extract_items(account, WINDOW, source, conn, "second")
    original, rotated = api.refresh_tokens_used[-2:]
    assert original == conn.extra["refresh_token"] and rotated != original
    assert "new refresh token" in caplog.text
    assert rotated not in caplog.text and original not in caplog.text


def test_a_token_of_another_user_is_one_line(tmp_path, tt):
    sandbox, _api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    stranger = source.accounts[0].model_copy(update={"id": "tt_someone_else"})
    with pytest.raises(CredentialsError, match="authorises open_id") as err:
        connector.extract_items(stranger, WINDOW, source, get_connection(stranger.conn_id), "r")
    assert "\n" not in str(err.value) and "tt_someone_else" in str(err.value)


def test_business_api_body_codes_are_classified_like_http_errors(tmp_path, tt):
    sandbox, _api = tt
    cfg = make_cfg(tmp_path, sandbox, batch_size=100)
    source = cfg.sources.tiktok
    account = source.accounts[0]
    conn = get_connection(account.conn_id)
    path = "/tiktok-business/open_api/v1.3/business/video/list/"
    # HTTP 200 with code 50002 (a system error): retried; code 40105 (token): refreshed
    sandbox.faults.add(Fault(path, "status", status=503))
    sandbox.faults.add(Fault(path, "status", status=401))
    results = list(connector.extract(account, WINDOW, source, conn, "r"))
    metrics = results[1]
    assert metrics.calls.retries == 1
    assert metrics.tables["content_snapshots"].column("reach").null_count == 0
    assert business_outcome(200, {"code": 40100, "message": "Too many requests"}).kind == "rate"
    assert business_outcome(200, {"code": 40105, "message": "bad token"}).kind == "token"
    assert business_outcome(200, {"code": 50002, "message": "system error"}).kind == "retry"
    assert business_outcome(200, {"code": 40001, "message": "no permission"}).kind == "denied"
    assert business_outcome(200, {"code": 0, "data": {"videos": []}}).kind == "ok"
    assert display_outcome(429, {"error": {"code": "rate_limit_exceeded"}}).kind == "rate"
    assert display_outcome(401, {"error": {"code": "scope_not_authorized"}}).kind == "denied"


def test_a_creator_account_configured_as_business_fails_in_one_line(tmp_path, tt):
    sandbox, api = tt
    creator = api.accounts()[1].account_id
    cfg = make_cfg(tmp_path, sandbox, business_accounts=[creator])
    source = cfg.sources.tiktok
    account = next(a for a in source.accounts if a.id == creator)
    with pytest.raises(CredentialsError) as err:
        list(connector.extract(account, WINDOW, source, get_connection(account.conn_id), "r"))
    message = str(err.value)
    assert "\n" not in message and creator in message and "40001" in message


def test_rate_limit_stops_at_once_and_the_next_run_resumes_to_the_same_snapshots(
    tmp_path, tt, no_waiting
):
    sandbox, api = tt
    uninterrupted = make_cfg(tmp_path, sandbox, "whole", batch_size=10)
    assert not run(uninterrupted).errors
    api.now = lambda: 1_000_000.0  # one minute, however long the run takes
    api.set_rate_limit(3)  # enough to list both accounts, not to read every batch
    stopped = make_cfg(tmp_path, sandbox, "stopped", batch_size=10)
    first = run(stopped, "first")
    assert len(first.errors) == 1
    assert first.errors[0].endswith("units left for the next run)")
    assert "rate limit" in first.errors[0] and "the next run resumes from here" in first.errors[0]
    assert no_waiting == []  # no retry: the first rate-limit answer stopped the run
    part = snapshot_rows(stopped)
    assert 0 < len(part) < len(snapshot_rows(uninterrupted))
    api.set_rate_limit(600)
    assert not run(stopped, "second").errors
    assert snapshot_rows(stopped) == snapshot_rows(uninterrupted) == truth(api, CLOCK)


def test_rate_limit_stop_is_a_quota_stop(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox, max_attempts=2)
    source = cfg.sources.tiktok
    account = source.accounts[0]
    api.now = lambda: 2_000_000.0
    api.set_rate_limit(0)
    with pytest.raises(RateLimited, match="the next run resumes from here"):
        connector.extract_items(account, WINDOW, source, get_connection(account.conn_id), "r")


def test_server_errors_and_malformed_bodies_are_retried(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    sandbox.faults.add(Fault("/tiktok/v2/user/info/", "malformed"))
    sandbox.faults.add(Fault("/tiktok/v2/video/list/", "status", status=500))
    sandbox.faults.add(Fault("/tiktok/v2/video/query/", "truncated"))
    sandbox.faults.add(Fault("/tiktok/v2/video/query/", "status", status=503, retry_after=2))
    step = run(cfg)
    assert not step.errors
    assert snapshot_rows(cfg) == truth(api, CLOCK)
    log = landed(cfg, "extract_log")
    assert log.retries.sum() == 2  # the two on video/query (the others were in item units)


def test_bad_refresh_token_is_one_line_without_the_secret(tmp_path, tt):
    sandbox, _api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    account = source.accounts[0]
    good = get_connection(account.conn_id)
    secret = "revoked-refresh-token-9f8e7d"
    conn = Connection("tiktok_sandbox", extra={**good.extra, "refresh_token": secret})
    with pytest.raises(CredentialsError) as err:
        connector.extract_items(account, WINDOW, source, conn, "r")
    message = str(err.value)
    assert "\n" not in message and account.id in message and "invalid_grant" in message
    assert secret not in message and secret not in repr(err.value)
    assert good.extra["client_secret"] not in message


def test_missing_credential_field_is_named(tmp_path, tt):
    sandbox, _api = tt
    cfg = make_cfg(tmp_path, sandbox)
    source = cfg.sources.tiktok
    conn = Connection("tiktok_sandbox", extra={"client_key": "k", "client_secret": "s"})
    with pytest.raises(CredentialsError, match="refresh_token"):
        connector.extract_items(source.accounts[0], WINDOW, source, conn, "r")


def test_videos_are_read_again_on_the_age_schedule(tmp_path, tt):
    sandbox, _api = tt
    cfg = make_cfg(tmp_path, sandbox)
    accounts = cfg.sources.tiktok.accounts
    run(cfg, "day0")
    for later in (1, 10):  # the next night, then after eight missed nights
        state = {a.id: landed_state(cfg.paths.landing, "tiktok", a.id) for a in accounts}
        sandbox.clock = CLOCK + timedelta(days=later)
        today = sandbox.clock - timedelta(days=1)
        expected, ages = set(), {}
        for account in accounts:
            for item_id, published in state[account.id].published.items():
                local = connector._local_day(published, account.timezone)
                ages[item_id] = (today - local).days
                if social.due(local, state[account.id].last_read.get(item_id), today):
                    expected.add(item_id)
        assert not run(cfg, f"day{later}").errors
        snaps = landed(cfg, "content_snapshots")
        read = set(snaps[snaps.snapshot_date == today].item_id)
        assert read == expected
        assert set(ages) - read  # old videos are not read every night
        if later == 1:
            assert any(ages[i] <= social.DAILY_UNTIL for i in read)  # young ones are
    # after the gap, videos whose 7/14/28-day read fell in it are caught up
    assert any(ages[i] > social.DAILY_UNTIL for i in read)


def test_staging_keeps_one_row_per_key_with_unified_names(tmp_path, tt):
    sandbox, api = tt
    cfg = make_cfg(tmp_path, sandbox)
    run(cfg, "first")
    run(cfg, "again")  # the same reads: staging must still hold one row per key
    pipeline.load(cfg)
    pipeline.build(cfg)
    with duckdb.connect(str(cfg.paths.warehouse), read_only=True) as con:
        rows = con.execute(
            "select account_id, item_id, snapshot_date, views, reach, likes, saves, "
            "watch_time_s from staging.stg_tiktok__snapshots"
        ).fetchall()
        posts = con.execute(
            "select count(*), min(format) from staging.stg_tiktok__posts"
        ).fetchone()
        daily = con.execute(
            "select account_id, date, views, reach, followers_gained, followers, profile_views, "
            "likes, comments, shares from staging.stg_tiktok__account_daily order by date"
        ).fetchall()
        followers = dict(
            con.execute(
                "select account_id, followers from staging.stg_tiktok__account_snapshots"
            ).fetchall()
        )
    visible = {
        p.post_id: (a, p) for a in api.accounts() for p in api.portfolio.visible_posts(a, CLOCK)
    }
    assert len(rows) == len({(r[0], r[1], r[2]) for r in rows}) == len(visible)
    for _account_id, item_id, day, views, reach, likes, saves, watch in rows:
        account, post = visible[item_id]
        life = api.portfolio.lifetime(post, CLOCK)
        assert (views, likes, saves, day) == (
            life["views"],
            life["likes"],
            None,
            CLOCK - timedelta(days=1),
        )
        if account.business:
            assert (reach, watch) == (life["reach"], life["watch_time_s"])
        else:
            assert (reach, watch) == (None, None)
    assert posts == (len(visible), "short")
    # the business account's days: the truth, with the net change of the followers total
    business = next(a for a in api.accounts() if a.business)
    first, newest = WINDOW.start - timedelta(days=1), api.portfolio.tiktok_account_days(CLOCK)[1]
    assert [(r[0], r[1]) for r in daily] == [
        (business.account_id, first + timedelta(days=i)) for i in range((newest - first).days + 1)
    ]
    for _account_id, day, *values in daily:
        truth = api.portfolio.account_day(business, day)
        gained = truth["follows"] if day > first else None  # the first day has none before it
        assert values == [
            truth["views"],
            None,
            gained,
            truth["followers"],
            truth["clicks"],
            truth["likes"],
            truth["comments"],
            truth["shares"],
        ], day
    assert followers == {a.account_id: api.portfolio.followers(a, CLOCK) for a in api.accounts()}
