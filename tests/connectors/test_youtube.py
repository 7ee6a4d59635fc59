"""The YouTube connector through the real Google client, over real HTTP, against the sandbox."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pytest

from connectors.youtube import extract, parse_duration, plan_chunks, settings, video_format
from connectors.youtube.client import QuotaExhausted
from contentpulse.credentials import Connection, get_connection
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.streams import CallLog, Window
from sandbox import Fault
from tests.conftest import CLOCK, END

WINDOW = Window(date(2026, 10, 1), END)


def merged(results) -> dict[str, pa.Table]:
    """Stream tables of several units of work, concatenated."""
    out: dict[str, list[pa.Table]] = {}
    for result in results:
        for name, table in result.tables.items():
            out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables) for name, tables in out.items()}


def total_calls(results) -> CallLog:
    total = CallLog()
    for result in results:
        total.calls += result.calls.calls
        total.units += result.calls.units
        total.retries += result.calls.retries
        for endpoint, n in result.calls.by_endpoint.items():
            total.by_endpoint[endpoint] = total.by_endpoint.get(endpoint, 0) + n
    return total


@dataclass
class Extracted:
    tables: dict
    calls: object
    last_date_returned: date | None


def _run(cfg, sandbox, window=WINDOW, conn=None, index=0, source=None):
    source = source or cfg.sources.youtube
    account = source.accounts[index]
    results = list(extract(account, window, source, conn or get_connection(account.conn_id), "t"))
    last = max((r.last_date_returned for r in results if r.last_date_returned), default=None)
    return Extracted(merged(results), total_calls(results), last)


def test_extract_lands_exactly_what_the_sandbox_serves(cfg, sandbox):
    result = _run(cfg, sandbox)
    channel = sandbox.portfolio.channels[0]
    truth = sandbox.portfolio.content_daily_truth(CLOCK, WINDOW.start, WINDOW.end)
    truth = truth[truth.account_id == channel.channel_id]
    got = result.tables["content_daily"].to_pandas()
    assert len(got) == len(truth) > 0
    key = ["item_id", "date"]
    merged = got.merge(truth, on=key, suffixes=("", "_truth"))
    assert len(merged) == len(truth)
    for metric in settings.VIDEO_METRICS:
        assert (merged[metric] == merged[f"{metric}_truth"]).all(), metric
    items = result.tables["content_items"].to_pandas()
    assert set(items.item_id) == {
        v.video_id for v in sandbox.portfolio.visible_videos(channel, CLOCK)
    }
    assert result.last_date_returned == END


def test_metadata_keeps_formats_links_and_hostile_titles_verbatim(cfg, sandbox):
    items = _run(cfg, sandbox).tables["content_items"].to_pandas().set_index("item_id")
    for video in sandbox.portfolio.channels[0].videos:
        row = items.loc[video.video_id]
        assert row.title == video.title
        assert row.duration_s == video.duration_s
        assert row.format == ("short" if video.is_short else "video")
        assert list(row.links) and row.links[0].startswith("https://northwind.example/stories/")
        assert json.loads(row.raw_json)["id"] == video.video_id
    assert any("<script>" in t for t in items.title)


def test_calls_are_the_minimum_the_api_allows(cfg, sandbox):
    result = _run(cfg, sandbox)
    channel = sandbox.portfolio.channels[0]
    videos = sandbox.portfolio.visible_videos(channel, CLOCK)
    chunks = plan_chunks(WINDOW)
    by = result.calls.by_endpoint
    # Data API: one channel lookup, then 50 per page and 50 ids per videos.list
    assert by["channels.list"] == 1
    assert by["playlistItems.list"] == by["videos.list"] == math.ceil(len(videos) / 50)
    assert result.calls.units == 1 + 2 * math.ceil(len(videos) / 50)
    # Analytics: per chunk, one query per 200 videos plus one per further 200-row page
    daily = result.tables["content_daily"].to_pandas()
    pages = 0
    for chunk in chunks:
        live = [v for v in videos if v.publish_date <= chunk.end]
        rows = int(((daily.date >= chunk.start) & (daily.date <= chunk.end)).sum())
        pages += max(math.ceil(len(live) / 200), rows // 200 + 1)
    assert by["reports.query day,video video"] == pages
    assert by["reports.query day"] == len(chunks)
    traffic = result.tables["traffic_daily"].to_pandas()
    channel = traffic[traffic.item_id == ""]
    assert by["reports.query day,insightTrafficSourceType"] == sum(
        int(((channel.date >= c.start) & (channel.date <= c.end)).sum()) // 200 + 1 for c in chunks
    )
    # per-video traffic: one query (plus further pages) per video per chunk its first four weeks touch
    by_video = traffic[traffic.item_id != ""]
    expected = 0
    for v in videos:
        for c in chunks:
            if max(c.start, v.publish_date) <= min(c.end, v.publish_date + timedelta(days=27)):
                mine = by_video[
                    (by_video.item_id == v.video_id)
                    & (by_video.date >= c.start)
                    & (by_video.date <= c.end)
                ]
                expected += len(mine) // 200 + 1
    assert by["reports.query day,insightTrafficSourceType video"] == expected


def test_traffic_sources_add_up_to_views(cfg, sandbox):
    tables = _run(cfg, sandbox).tables
    traffic = tables["traffic_daily"].to_pandas()
    daily = tables["content_daily"].to_pandas()
    per_video = traffic[traffic.item_id != ""].groupby(["item_id", "date"]).views.sum()
    views = daily.set_index(["item_id", "date"]).views.reindex(per_video.index)
    assert len(per_video) > 100 and (per_video == views).all()
    channel = traffic[traffic.item_id == ""].groupby("date").views.sum()
    assert (channel == daily.groupby("date").views.sum().reindex(channel.index)).all()
    assert {"SHORTS", "YT_SEARCH", "RELATED_VIDEO"} <= set(traffic.source)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_and_nothing_is_lost(cfg, sandbox, status):
    clean = _run(cfg, sandbox).tables["content_daily"].num_rows
    sandbox.faults.add(
        Fault(path="/v2/reports", kind="status", status=status, times=2, retry_after=0.05)
    )
    result = _run(cfg, sandbox)
    assert result.calls.retries == 2
    assert result.tables["content_daily"].num_rows == clean


def test_retry_after_is_honoured(cfg, sandbox, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("connectors.retry.sleep", waits.append)
    sandbox.faults.add(
        Fault(path="/youtube/v3/videos", kind="status", status=429, times=1, retry_after=7)
    )
    _run(cfg, sandbox)
    assert waits == [7.0]


def test_malformed_body_is_retried_then_reported_naming_the_call(cfg, sandbox, monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda s: None)
    sandbox.faults.add(Fault(path="/youtube/v3/playlistItems", kind="malformed", times=1))
    assert _run(cfg, sandbox).calls.retries == 1
    sandbox.faults.add(Fault(path="/youtube/v3/playlistItems", kind="malformed", times=99))
    with pytest.raises(SourceError) as err:
        _run(cfg, sandbox)
    assert str(err.value).endswith(
        "playlistItems.list: malformed response body (not JSON) (gave up after 6 attempts)"
    )


def test_truncated_body_is_retried(cfg, sandbox, monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda s: None)
    sandbox.faults.add(Fault(path="/v2/reports", kind="truncated", times=1))
    assert _run(cfg, sandbox).calls.retries == 1


def test_slow_response_past_the_timeout_is_retried(cfg, sandbox, monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda s: None)
    source = cfg.sources.youtube.model_copy(update={"timeout_s": 0.5})
    sandbox.faults.add(Fault(path="/youtube/v3/channels", kind="slow", delay_s=1.5, times=1))
    result = _run(cfg, sandbox, source=source)
    assert result.calls.retries == 1
    assert result.tables["content_daily"].num_rows > 0


def test_expired_access_token_is_refreshed(cfg, sandbox):
    clean = _run(cfg, sandbox).tables["content_daily"].num_rows
    tokens = sandbox.calls["/token"]  # one per unit of work (each unit has its own client)
    sandbox.faults.add(Fault(path="/v2/reports", kind="expired_token", times=1))
    result = _run(cfg, sandbox)
    assert result.tables["content_daily"].num_rows == clean
    assert (
        sandbox.calls["/token"] == 2 * tokens + 1
    )  # the same again, plus the refresh after the 401


def test_quota_exhausted_stops_without_retrying(cfg, sandbox):
    sandbox.daily_quota = 2
    with pytest.raises(
        QuotaExhausted, match=r"daily quota exhausted \(403 quotaExceeded\); the next run resumes"
    ):
        _run(cfg, sandbox)
    assert (
        sum(n for p, n in sandbox.calls.items() if p.startswith("/youtube/v3/")) == 3
    )  # 2 charged + the refused one


def test_bad_refresh_token_is_one_line_without_the_secret(cfg, sandbox):
    secret = "canary-SECRET-1f9c3"
    conn = Connection(
        "youtube_sandbox",
        extra={
            "client_id": "sandbox-client.apps.example",
            "client_secret": "sandbox-client-secret",
            "refresh_token": secret,
        },
    )
    with pytest.raises(CredentialsError) as err:
        _run(cfg, sandbox, conn=conn)
    assert "OAuth token refresh failed (invalid_grant)" in str(err.value)
    assert secret not in str(err.value) and secret not in repr(err.value)


def test_missing_connection_names_the_env_var(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_YT_NOWHERE", raising=False)
    with pytest.raises(
        CredentialsError, match=r"connection 'yt_nowhere' not found: .*AIRFLOW_CONN_YT_NOWHERE"
    ):
        get_connection("yt_nowhere")


def test_connection_secrets_do_not_print(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_YT_X",
        json.dumps({"extra": {"client_secret": "s3cr3t", "refresh_token": "r3fr3sh"}}),
    )
    conn = get_connection("yt_x")
    assert "s3cr3t" not in repr(conn) and "r3fr3sh" not in repr(conn)
    assert (
        "r3fr3sh" not in repr(conn.secret("refresh_token"))
        and conn.secret("refresh_token").reveal() == "r3fr3sh"
    )
    assert "AIRFLOW_CONN_YT_X" in os.environ


@pytest.mark.parametrize(
    ("iso", "seconds"),
    [("PT4M13S", 253), ("PT1H", 3600), ("P1DT2S", 86402), ("", None), ("PT", None),
     ("P0D", None), ("PT0S", None)],  # a stream on air (or scheduled) reports P0D: no length
)  # fmt: skip
def test_parse_duration(iso, seconds):
    assert parse_duration(iso) == seconds


def test_video_format_rules():
    assert video_format(45, {"title": "x"}) == "short"
    assert video_format(150, {"title": "x #Shorts"}) == "short"
    assert video_format(150, {"title": "x"}) == "video"
    assert video_format(3600, {"liveBroadcastContent": "live"}) == "live"
    assert video_format(None, {"liveBroadcastContent": "upcoming"}) == "live"
    # a recorded stream: liveBroadcastContent is none again, its length is the recording's
    assert video_format(45, {"liveBroadcastContent": "none"}, {"actualEndTime": "x"}) == "live"
