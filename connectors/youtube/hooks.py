"""YouTube connector: the streams of one channel, in units of work that land one by one.

`extract_items` lists every upload (uploads playlist -> videos.list, 50 ids a call) with a
snapshot of its lifetime statistics (content_items), and snapshots the channel's own
lifetime statistics: subscribers, views, videos (account_snapshots). A scheduled stream
(`liveBroadcastContent: upcoming`) is no content until it airs: it is left out, as is a
video the listing named but videos.list no longer returns (deleted meanwhile); staging
marks a video gone once the channel's newest listing lacks it, or shows it private. A live
stream is format `live`, its `P0D` duration NULL. `extract_metrics` reads one window
chunk from YouTube Analytics v2: content_daily (200 videos a query, paged), account_daily
(channel totals), traffic_daily (views by traffic source for the channel, and for each
video in its first four weeks), plus an extract_log row that marks the chunk done.
`extract` runs them in order. Platform-native metric names are kept; staging renames.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from connectors.quota import Budget, Throttle
from connectors.retry import RetryPolicy
from connectors.youtube import settings
from connectors.youtube.client import YouTubeClient
from connectors.youtube.settings import YouTubeSource
from contentpulse.config import Account
from contentpulse.contract import Hooks
from contentpulse.credentials import Connection
from contentpulse.errors import SourceError
from contentpulse.streams import ExtractResult, Window, find_links, parsing, text_id

log = logging.getLogger(__name__)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: str) -> int | None:
    """ISO 8601 duration (`PT1H2M3S`) in seconds; None when absent, unparseable or zero
    (`P0D`: what a live or scheduled stream reports, no length)."""
    match = _DURATION.match(value or "")
    if not match or value in ("P", "PT"):
        return None
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s or None


def video_format(duration_s: int | None, snippet: dict, live_details: dict | None = None) -> str:
    """live for a stream (on air, scheduled, or past: liveStreamingDetails), else short or
    video by length."""
    if snippet.get("liveBroadcastContent") in ("live", "upcoming") or live_details:
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


def _uploads(client: YouTubeClient, channel_id: str) -> tuple[dict, list[tuple[str, datetime]]]:
    """The channel resource (with its lifetime statistics) and every upload, newest first."""
    body = client.call(
        "channels.list",
        client.data.channels().list(part="contentDetails,statistics", id=channel_id),
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
    return items[0], videos


def _content_items(
    client: YouTubeClient,
    account: Account,
    video_ids: list[str],
    extracted_at: datetime,
    run_id: str,
) -> pa.Table:
    """The videos' rows; a scheduled stream (not aired yet) and a video videos.list no
    longer returns (deleted since the listing) have none."""
    rows = []
    for batch in _batches(video_ids, settings.DATA_PAGE_SIZE):
        body = client.call(
            "videos.list",
            client.data.videos().list(
                part=settings.VIDEO_PARTS, id=",".join(batch), maxResults=len(batch)
            ),
        )
        with parsing(f"youtube {account.id}: videos.list"):
            rows += [
                _video_row(account.id, item, extracted_at, run_id)
                for item in body.get("items", [])
                if (item.get("snippet") or {}).get("liveBroadcastContent") != "upcoming"
            ]
    missing = len(video_ids) - len(rows)
    if missing:
        log.info(
            "youtube %s: %d listed videos not read (scheduled streams, or deleted since the "
            "listing)",
            account.id,
            missing,
        )
    return pa.Table.from_pylist(rows, schema=settings.SCHEMAS["content_items"])


def _video_row(account_id: str, item: dict, extracted_at: datetime, run_id: str) -> dict:
    """One videos.list item as a content_items row (counters YouTube hides are NULL)."""
    snippet, stats = item.get("snippet", {}), item.get("statistics", {})
    duration = parse_duration(item.get("contentDetails", {}).get("duration", ""))
    live = item.get("liveStreamingDetails")
    description = snippet.get("description", "")
    video_id = text_id(item["id"])
    return {
        "account_id": account_id,
        "item_id": video_id,
        "title": snippet.get("title", ""),
        "description": description,
        "tags": snippet.get("tags") or [],
        "published_at": _ts(snippet["publishedAt"]),
        "duration_s": duration,
        "format": video_format(duration, snippet, live),
        "url": f"https://www.youtube.com/watch?v={video_id}",
        "links": find_links(description),
        "view_count": _int(stats.get("viewCount")),
        "like_count": _int(stats.get("likeCount")),
        "comment_count": _int(stats.get("commentCount")),
        "privacy_status": (item.get("status") or {}).get("privacyStatus"),
        "raw_json": json.dumps(item, ensure_ascii=False, sort_keys=True),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }


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
        kind = f"reports.query {dimensions}" + (" video" if filters else "")
        body = client.call("reports.query", client.analytics.reports().query(**query), kind)
        rows = report_rows(body, [*dimensions.split(","), *metrics], f"youtube {account.id}")
        yield from rows
        if len(rows) < settings.ANALYTICS_PAGE_SIZE:
            return
        start_index += len(rows)


def report_rows(body: dict, expected: list[str], what: str) -> list[dict]:
    """One Analytics reports.query page as {column: value} rows, `day` as a date; a page of
    another shape (other columns, a row of another length, a bad day) is one SourceError."""
    with parsing(f"{what}: reports.query"):
        headers = [h.get("name") for h in body.get("columnHeaders", [])]
        if headers != expected:
            raise SourceError(
                f"{what}: reports.query returned columns {headers}, expected {expected}"
            )
        rows = [dict(zip(headers, row, strict=True)) for row in body.get("rows") or []]
        for row in rows:
            if "day" in row:
                row["day"] = date.fromisoformat(row["day"])
        return rows


@dataclass(frozen=True)
class Upload:
    video_id: str
    published_at: datetime


def budget(source: YouTubeSource) -> Budget:
    """The per-run budget from config, keyed by the quota each call draws on."""
    return Budget(
        {
            settings.DATA_API: source.budget_data_api_units,
            settings.ANALYTICS: source.budget_analytics_queries,
        }
    )


def plan_chunks(window: Window) -> list[Window]:
    """The units a window is read in: at most a month each, from the window's start."""
    return window.chunks(settings.WINDOW_CHUNK_DAYS)


def _client(
    account: Account, source: YouTubeSource, conn: Connection, throttle: Throttle | None
) -> YouTubeClient:
    policy = RetryPolicy(max_attempts=source.max_attempts)
    return YouTubeClient(
        account.id, conn, source.base_url, source.token_uri, source.timeout_s, policy, throttle
    )


def extract_items(
    account: Account,
    window: Window,
    source: YouTubeSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
    state: None = None,
) -> tuple[ExtractResult, list[Upload]]:
    """Every upload of the channel, with metadata and lifetime statistics."""
    extracted_at = datetime.now(UTC)
    with _client(account, source, conn, throttle) as client:
        channel, listed = _uploads(client, account.id)
        items = _content_items(client, account, [v for v, _ in listed], extracted_at, run_id)
    read = set(items.column("item_id").to_pylist())
    uploads = [(v, published) for v, published in listed if v in read]  # content to measure
    stats = channel.get("statistics", {})
    snapshot = pa.Table.from_pylist(
        [
            {
                "account_id": account.id,
                "subscriber_count": None
                if stats.get("hiddenSubscriberCount")
                else _int(stats.get("subscriberCount")),
                "view_count": _int(stats.get("viewCount")),
                "video_count": _int(stats.get("videoCount")),
                "extracted_at": extracted_at,
                "run_id": run_id,
            }
        ],
        schema=settings.SCHEMAS["account_snapshots"],
    )
    tables = {"content_items": items, "account_snapshots": snapshot}
    result = ExtractResult(settings.PLATFORM, account.id, window, tables, client.calls)
    return result, [Upload(v, published) for v, published in uploads]


def _traffic_rows(
    client: YouTubeClient, account: Account, chunk: Window, uploads: list[Upload]
) -> list[dict]:
    """Views by traffic source: the channel every day, each video in its first weeks."""
    dims = "day,insightTrafficSourceType"
    rows = [
        {
            "account_id": account.id,
            "item_id": "",
            "date": r["day"],
            "source": r["insightTrafficSourceType"],
            "views": r["views"],
        }
        for r in _report_rows(client, account, chunk, ("views",), dims)
    ]
    for upload in uploads:
        first = upload.published_at.date()
        last = first + timedelta(days=settings.TRAFFIC_DAYS - 1)
        start, end = max(chunk.start, first), min(chunk.end, last)
        if end < start:
            continue
        for r in _report_rows(
            client, account, Window(start, end), ("views",), dims, f"video=={upload.video_id}"
        ):
            rows.append(
                {
                    "account_id": account.id,
                    "item_id": upload.video_id,
                    "date": r["day"],
                    "source": r["insightTrafficSourceType"],
                    "views": r["views"],
                }
            )
    return rows


def extract_metrics(
    account: Account,
    chunk: Window,
    uploads: list[Upload],
    source: YouTubeSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """Daily metrics of one window chunk; its extract_log row marks the chunk complete."""
    extracted_at = datetime.now(UTC)
    # Only videos that existed by the chunk's end can have rows in it.
    live = [u for u in uploads if u.published_at.date() <= chunk.end]
    daily_rows: list[dict] = []
    with _client(account, source, conn, throttle) as client:
        for batch in _batches([u.video_id for u in live], settings.VIDEO_FILTER_BATCH):
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
                        "date": row.pop("day"),
                        **row,
                    }
                )
        account_rows = [
            {"account_id": account.id, "date": r.pop("day"), **r}
            for r in _report_rows(client, account, chunk, settings.CHANNEL_METRICS, "day")
        ]
        traffic_rows = _traffic_rows(client, account, chunk, live)
    for row in daily_rows + account_rows + traffic_rows:
        row.update(extracted_at=extracted_at, run_id=run_id)
    schemas = settings.SCHEMAS
    tables = {
        "content_daily": pa.Table.from_pylist(daily_rows, schema=schemas["content_daily"]),
        "account_daily": pa.Table.from_pylist(account_rows, schema=schemas["account_daily"]),
        "traffic_daily": pa.Table.from_pylist(traffic_rows, schema=schemas["traffic_daily"]),
    }
    last = max((r["date"] for r in account_rows), default=None)
    log_row = {
        "account_id": account.id,
        "window_start": chunk.start,
        "window_end": chunk.end,
        "last_date_returned": last,
        "calls": client.calls.calls,
        "quota_units": client.calls.units,
        "retries": client.calls.retries,
        "rows": sum(t.num_rows for t in tables.values()),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }
    tables["extract_log"] = pa.Table.from_pylist([log_row], schema=schemas["extract_log"])
    return ExtractResult(settings.PLATFORM, account.id, chunk, tables, client.calls, last)


HOOKS = Hooks(
    plan_chunks=plan_chunks,
    extract_items=extract_items,
    extract_metrics=extract_metrics,
    budget=budget,
)
# the one-shot form: every unit in order, one after another (tests and scripts)
extract = HOOKS.extract
