"""The sandbox answers like the real APIs: validation, paging, method override, errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

import pytest

from sandbox import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Portfolio
from tests.conftest import CLOCK, small_portfolio


def _token(base: str) -> str:
    body = f"grant_type=refresh_token&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&refresh_token={REFRESH_TOKEN}"
    with urllib.request.urlopen(urllib.request.Request(f"{base}/token", body.encode())) as resp:
        return json.load(resp)["access_token"]


def _get(
    base: str,
    path: str,
    token: str | None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict | None = None,
) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_portfolio_is_deterministic():
    a, b = small_portfolio(), small_portfolio()
    assert [v.video_id for v in a.videos_by_id.values()] == [
        v.video_id for v in b.videos_by_id.values()
    ]
    assert a.content_daily_truth(CLOCK).equals(b.content_daily_truth(CLOCK))


def test_recent_days_are_restated_when_the_clock_moves():
    p = small_portfolio()
    day = date.fromordinal(p.end.toordinal() - 3)
    video = max(
        (v for v in p.channels[0].videos if v.publish_date <= day),
        key=lambda v: v.daily["views"][(day - v.publish_date).days],
    )
    clock = date.fromordinal(day.toordinal() + p.lag_days)  # the first clock that serves `day`
    early = p.served_metrics(video, day, clock)
    later = p.served_metrics(video, day, date.fromordinal(clock.toordinal() + 1))
    assert later["views"] > 10
    assert early["views"] == int(later["views"] * p.provisional_factor) < later["views"]
    assert p.served_metrics(video, date.fromordinal(day.toordinal() + 1), clock) is None


def test_requests_need_a_valid_token(sandbox):
    status, body = _get(sandbox.base_url, "/youtube/v3/channels?part=id&id=x", token="forged")
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED"


def test_unknown_and_missing_parameters_are_rejected(sandbox):
    token = _token(sandbox.base_url)
    status, body = _get(sandbox.base_url, "/youtube/v3/videos?part=id&id=x&colour=red", token)
    assert (status, body["error"]["errors"][0]["reason"]) == (400, "badRequest")
    status, body = _get(
        sandbox.base_url, "/v2/reports?ids=channel==x&startDate=2026-01-01&metrics=views", token
    )
    assert status == 400 and "endDate" in body["error"]["message"]


def test_playlist_pages_with_tokens_until_the_last(sandbox):
    token = _token(sandbox.base_url)
    channel = sandbox.portfolio.channels[0]
    seen, page_token, pages = [], "", 0
    while True:
        q = f"/youtube/v3/playlistItems?part=contentDetails&playlistId={channel.uploads_playlist_id}&maxResults=7"
        status, body = _get(
            sandbox.base_url, q + (f"&pageToken={page_token}" if page_token else ""), token
        )
        assert status == 200
        seen += [i["contentDetails"]["videoId"] for i in body["items"]]
        pages += 1
        if "nextPageToken" not in body:
            break
        page_token = body["nextPageToken"]
    assert len(seen) == len(set(seen)) == len(sandbox.portfolio.visible_videos(channel, CLOCK))
    assert pages == -(-len(seen) // 7)


def test_long_queries_arrive_as_post_with_method_override(sandbox):
    token = _token(sandbox.base_url)
    channel = sandbox.portfolio.channels[0]
    form = f"ids=channel%3D%3D{channel.channel_id}&startDate=2026-11-01&endDate=2026-11-05&metrics=views&dimensions=day"
    status, body = _get(
        sandbox.base_url,
        "/v2/reports",
        token,
        "POST",
        form.encode(),
        {"X-HTTP-Method-Override": "GET", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and [r[0] for r in body["rows"]] == [f"2026-11-0{d}" for d in range(1, 6)]


def test_quota_is_charged_per_data_api_call(sandbox):
    token = _token(sandbox.base_url)
    for _ in range(3):
        _get(
            sandbox.base_url,
            f"/youtube/v3/channels?part=id&id={sandbox.portfolio.channels[0].channel_id}",
            token,
        )
    assert sandbox.quota_used[sandbox.clock] == 3


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_bad_dates_are_400(sandbox, bad):
    token = _token(sandbox.base_url)
    status, _ = _get(
        sandbox.base_url,
        f"/v2/reports?ids=channel==x&startDate={bad}&endDate=2026-01-01&metrics=views",
        token,
    )
    assert status == 400


def test_demo_portfolio_has_thousands_of_videos_capacity():
    p = Portfolio.demo(end=date(2026, 11, 20), videos_per_channel=1000)
    assert len(p.videos_by_id) == 3000
    assert {v.is_short for v in p.videos_by_id.values()} == {True, False}


def test_parameters_are_checked_against_the_discovery_documents(sandbox):
    token = _token(sandbox.base_url)
    playlist = sandbox.portfolio.channels[0].uploads_playlist_id
    status, body = _get(
        sandbox.base_url,
        f"/youtube/v3/playlistItems?part=id&playlistId={playlist}&maxResults=51",
        token,
    )
    assert (
        status == 400 and "maxResults" in body["error"]["message"]
    )  # the documented maximum is 50
    status, body = _get(sandbox.base_url, "/youtube/v3/videos?id=abc", token)
    assert status == 400 and body["error"]["errors"][0]["reason"] == "required"  # part is required
    status, _ = _get(
        sandbox.base_url,
        f"/youtube/v3/playlistItems?part=id&playlistId={playlist}&onBehalfOfContentOwner=x",
        token,
    )
    assert status == 200  # declared in the discovery document, so accepted
