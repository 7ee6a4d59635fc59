"""YouTube connector: `extract(account, window, ...)` -> the streams of one channel.

content_items: every upload (uploads playlist -> videos.list, 50 ids a call), with a
snapshot of its lifetime statistics. content_daily: per-video daily metrics from YouTube
Analytics v2 (200 videos a query, paged). account_daily: channel totals per day.
Platform-native metric names are kept; staging maps them to unified names.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pyarrow as pa

from connectors.retry import RetryPolicy
from connectors.streams import ExtractResult, Window
from connectors.youtube import settings
from connectors.youtube.client import QuotaExhausted, YouTubeClient
from contentpulse.config import Account, YouTubeSource
from contentpulse.credentials import Connection
from contentpulse.errors import SourceError

__all__ = ["QuotaExhausted", "extract"]

log = logging.getLogger(__name__)
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: str) -> int | None:
    """ISO 8601 duration (`PT1H2M3S`) in seconds; None when absent or unparseable."""
    match = _DURATION.match(value or "")
    if not match or value in ("P", "PT"):
        return None
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def video_format(duration_s: int | None, snippet: dict) -> str:
    if snippet.get("liveBroadcastContent") in ("live", "upcoming"):
        return "live"
    tagged = "#shorts" in (snippet.get("title", "") + snippet.get("description", "")).lower()
    if duration_s is not None and (
        duration_s <= 60 or (tagged and duration_s <= settings.SHORTS_MAX_DURATION_S)
    ):
        return "short"
    return "video"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _int(value: object) -> int | None:
    return None if value in (None, "") else int(value)  # type: ignore[arg-type]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _uploads(client: YouTubeClient, channel_id: str) -> tuple[str, list[tuple[str, datetime]]]:
    body = client.call(
        "channels.list", client.data.channels().list(part="contentDetails", id=channel_id)
    )
    items = body.get("items") or []
    if not items:
        raise SourceError(
            f"youtube {channel_id}: channel not found or not visible to these credentials"
        )
    playlist = items[0]["contentDetails"]["relatedPlaylists"]["uploads"]
    videos: list[tuple[str, datetime]] = []
    request = client.data.playlistItems().list(
        part="contentDetails", playlistId=playlist, maxResults=settings.DATA_PAGE_SIZE
    )
    while request is not None:
        page = client.call("playlistItems.list", request)
        for item in page.get("items", []):
            details = item["contentDetails"]
            if "videoPublishedAt" in details:  # absent for deleted/private videos
                videos.append((details["videoId"], _ts(details["videoPublishedAt"])))
        request = client.data.playlistItems().list_next(request, page)
    return playlist, videos


def _content_items(
    client: YouTubeClient,
    account: Account,
    video_ids: list[str],
    extracted_at: datetime,
    run_id: str,
) -> pa.Table:
    rows = []
    for batch in _batches(video_ids, settings.DATA_PAGE_SIZE):
        body = client.call(
            "videos.list",
            client.data.videos().list(
                part="snippet,contentDetails,statistics", id=",".join(batch), maxResults=len(batch)
            ),
        )
        for item in body.get("items", []):
            snippet, stats = item.get("snippet", {}), item.get("statistics", {})
            duration = parse_duration(item.get("contentDetails", {}).get("duration", ""))
            description = snippet.get("description", "")
            rows.append(
                {
                    "account_id": account.id,
                    "item_id": item["id"],
                    "title": snippet.get("title", ""),
                    "description": description,
                    "tags": snippet.get("tags") or [],
                    "published_at": _ts(snippet["publishedAt"]),
                    "duration_s": duration,
                    "format": video_format(duration, snippet),
                    "url": f"https://www.youtube.com/watch?v={item['id']}",
                    "links": _URL.findall(description),
                    "view_count": _int(stats.get("viewCount")),
                    "like_count": _int(stats.get("likeCount")),
                    "comment_count": _int(stats.get("commentCount")),
                    "raw_json": json.dumps(item, ensure_ascii=False, sort_keys=True),
                    "extracted_at": extracted_at,
                    "run_id": run_id,
                }
            )
    return pa.Table.from_pylist(rows, schema=settings.SCHEMAS["content_items"])


def _report_rows(
    client: YouTubeClient,
    account: Account,
    window: Window,
    metrics: tuple[str, ...],
    dimensions: str,
    filters: str | None = None,
) -> Iterator[dict]:
    """Every row of one Analytics query, paging with startIndex until a short page."""
    start_index = 1
    while True:
        query = {
            "ids": f"channel=={account.id}",
            "startDate": window.start.isoformat(),
            "endDate": window.end.isoformat(),
            "metrics": ",".join(metrics),
            "dimensions": dimensions,
            "maxResults": settings.ANALYTICS_PAGE_SIZE,
            "startIndex": start_index,
        }
        if filters:
            query["filters"] = filters
        body = client.call("reports.query", client.analytics.reports().query(**query))
        headers = [h.get("name") for h in body.get("columnHeaders", [])]
        expected = [*dimensions.split(","), *metrics]
        if headers != expected:
            raise SourceError(
                f"youtube {account.id}: reports.query returned columns {headers}, "
                f"expected {expected}"
            )
        rows = body.get("rows") or []
        for row in rows:
            yield dict(zip(headers, row, strict=True))
        if len(rows) < settings.ANALYTICS_PAGE_SIZE:
            return
        start_index += len(rows)


def extract(
    account: Account, window: Window, source: YouTubeSource, conn: Connection, run_id: str
) -> ExtractResult:
    """Extract one channel's streams for `window` (reporting dates, inclusive)."""
    extracted_at = datetime.now(UTC)
    policy = RetryPolicy(max_attempts=source.max_attempts)
    with YouTubeClient(
        account.id, conn, source.base_url, source.token_uri, source.timeout_s, policy
    ) as client:
        _, uploads = _uploads(client, account.id)
        items = _content_items(client, account, [v for v, _ in uploads], extracted_at, run_id)
        # Only videos that existed by the window's end can have rows in it.
        live = [v for v, published in uploads if published.date() <= window.end]
        daily_rows: list[dict] = []
        account_rows: list[dict] = []
        for chunk in window.chunks(settings.WINDOW_CHUNK_DAYS):
            for batch in _batches(live, settings.VIDEO_FILTER_BATCH):
                for row in _report_rows(
                    client,
                    account,
                    chunk,
                    settings.VIDEO_METRICS,
                    "day,video",
                    "video==" + ",".join(batch),
                ):
                    daily_rows.append(
                        {
                            "account_id": account.id,
                            "item_id": row.pop("video"),
                            "date": date.fromisoformat(row.pop("day")),
                            **row,
                        }
                    )
            for row in _report_rows(client, account, chunk, settings.CHANNEL_METRICS, "day"):
                account_rows.append(
                    {"account_id": account.id, "date": date.fromisoformat(row.pop("day")), **row}
                )
    for row in daily_rows + account_rows:
        row.update(extracted_at=extracted_at, run_id=run_id)
    daily = pa.Table.from_pylist(daily_rows, schema=settings.SCHEMAS["content_daily"])
    account_daily = pa.Table.from_pylist(account_rows, schema=settings.SCHEMAS["account_daily"])
    last = max((r["date"] for r in account_rows), default=None)
    rows = items.num_rows + daily.num_rows + account_daily.num_rows
    extract_log = pa.Table.from_pylist(
        [
            {
                "account_id": account.id,
                "window_start": window.start,
                "window_end": window.end,
                "last_date_returned": last,
                "calls": client.calls.calls,
                "quota_units": client.calls.units,
                "retries": client.calls.retries,
                "rows": rows,
                "extracted_at": extracted_at,
                "run_id": run_id,
            }
        ],
        schema=settings.SCHEMAS["extract_log"],
    )
    return ExtractResult(
        platform=settings.PLATFORM,
        account_id=account.id,
        window=window,
        tables={
            "content_items": items,
            "content_daily": daily,
            "account_daily": account_daily,
            "extract_log": extract_log,
        },
        calls=client.calls,
        last_date_returned=last,
    )
