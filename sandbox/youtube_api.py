"""YouTube Data API v3 and YouTube Analytics API v2 handlers over a Portfolio.

Wire formats follow Google's documentation: uint64 counters as strings, `nextPageToken`
paging on the Data API, `startIndex`/`maxResults` on Analytics, Google's JSON error body.
Requests are checked as the real API checks them (missing or unknown parameters -> 400).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from sandbox.discovery import validate
from sandbox.errors import ApiError
from sandbox.portfolio import METRICS, Portfolio, Video, _iso_duration, _token


def _one(params: dict[str, list[str]], name: str, required: bool = False) -> str | None:
    values = params.get(name)
    if not values:
        if required:
            raise ApiError(400, "required", f"Required parameter: {name}")
        return None
    return values[0]


def _parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "badRequest", f"Invalid value for {name}: {value}") from None


def _rfc3339(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _ReportQuery:
    """An Analytics report request, checked: the videos it covers and how it pages."""

    videos: list[Video]
    start: date
    end: date
    metrics: list[str]
    dims: tuple[str, ...]
    max_results: int
    start_index: int


class YouTubeApi:
    """The request handlers; `clock` is the sandbox's notion of today."""

    data_page_max = 50
    analytics_page_max = 200
    video_filter_max = 200
    analytics_dimensions: ClassVar[set[tuple[str, ...]]] = {
        ("day",),
        ("day", "video"),
        ("video",),
        ("day", "insightTrafficSourceType"),
    }

    def __init__(self, portfolio: Portfolio) -> None:
        self.portfolio = portfolio
        # Paged queries repeat with another startIndex: keep the last few result sets.
        self._row_cache: OrderedDict[tuple, list[list]] = OrderedDict()
        self._cache_lock = threading.Lock()
        # (video, day) -> metrics Analytics serves in place of the truth, until restated
        self._misreported: dict[tuple[str, date], dict[str, float]] = {}

    def misreport(self, video_id: str, day: date, **metrics: float) -> None:
        """Serve these metrics for one video-day instead of the truth (a platform's bad
        answer, e.g. a negative count) until `restate()`: the next read of the day gets
        the truth, as a restated day does."""
        with self._cache_lock:
            self._misreported[(video_id, day)] = metrics
            self._row_cache.clear()

    def restate(self) -> None:
        with self._cache_lock:
            self._misreported.clear()
            self._row_cache.clear()

    # -- Data API v3 -------------------------------------------------------------------
    def channels(self, params: dict[str, list[str]], clock: date) -> dict[str, Any]:
        validate("youtube.v3", "channels", "list", params)
        parts = set((_one(params, "part", required=True) or "").split(","))
        ids = (_one(params, "id") or "").split(",") if _one(params, "id") else []
        if not ids:
            raise ApiError(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, mine, forUsername",
            )
        items = []
        for cid in ids:
            channel = self.portfolio.channel(cid)
            if channel is None:
                continue
            item: dict[str, Any] = {
                "kind": "youtube#channel",
                "etag": _token(cid, clock, length=27),
                "id": cid,
            }
            if "snippet" in parts:
                item["snippet"] = {
                    "title": channel.title,
                    "description": f"{channel.title} official channel",
                    "publishedAt": "2015-03-01T00:00:00Z",
                }
            if "contentDetails" in parts:
                item["contentDetails"] = {
                    "relatedPlaylists": {"likes": "", "uploads": channel.uploads_playlist_id}
                }
            if "statistics" in parts:
                videos = self.portfolio.visible_videos(channel, clock)
                views = sum(self.portfolio.lifetime_stats(v, clock)["viewCount"] for v in videos)
                item["statistics"] = {
                    "viewCount": str(views),
                    "subscriberCount": str(self.portfolio.channel_subscribers(channel, clock)),
                    "hiddenSubscriberCount": False,
                    "videoCount": str(len(videos)),
                }
            items.append(item)
        return {
            "kind": "youtube#channelListResponse",
            "etag": _token("cl", ids, length=27),
            "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
            "items": items,
        }

    def playlist_items(self, params: dict[str, list[str]], clock: date) -> dict[str, Any]:
        validate("youtube.v3", "playlistItems", "list", params)
        _one(params, "part", required=True)
        playlist_id = _one(params, "playlistId", required=True) or ""
        max_results = int(_one(params, "maxResults") or 5)
        if not 0 <= max_results <= self.data_page_max:
            raise ApiError(400, "invalidParameter", f"Invalid value for maxResults: {max_results}")
        channel = next(
            (c for c in self.portfolio.channels if c.uploads_playlist_id == playlist_id), None
        )
        if channel is None:
            raise ApiError(
                404,
                "playlistNotFound",
                "The playlist identified with the request's playlistId parameter cannot be found.",
            )
        videos = sorted(
            (v for v in channel.videos if self.portfolio.listed(v, clock)),
            key=lambda v: v.published_at,
            reverse=True,
        )
        start = _decode_page_token(_one(params, "pageToken"))
        page = videos[start : start + max_results]
        body: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "etag": _token(playlist_id, start, length=27),
            "pageInfo": {"totalResults": len(videos), "resultsPerPage": max_results},
            "items": [
                {
                    "kind": "youtube#playlistItem",
                    "etag": _token(v.video_id, length=27),
                    "id": _token("pli", v.video_id, length=40),
                    "contentDetails": {
                        "videoId": v.video_id,
                        "videoPublishedAt": _rfc3339(v.published_at),
                    },
                }
                for v in page
            ],
        }
        if start + max_results < len(videos):
            body["nextPageToken"] = _encode_page_token(start + max_results)
        if start > 0:
            body["prevPageToken"] = _encode_page_token(max(0, start - max_results))
        return body

    def videos(self, params: dict[str, list[str]], clock: date) -> dict[str, Any]:
        validate("youtube.v3", "videos", "list", params)
        parts = set((_one(params, "part", required=True) or "").split(","))
        ids = [i for i in (_one(params, "id") or "").split(",") if i]
        if not ids:
            raise ApiError(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, chart, myRating",
            )
        if len(ids) > self.data_page_max:
            raise ApiError(
                400, "invalidFilters", "The request specifies too many video ids (at most 50)."
            )
        items = []
        for vid in ids:
            video = self.portfolio.videos_by_id.get(vid)
            if video is None or not self.portfolio.listed(video, clock):
                continue  # unknown, not yet listed, or deleted: no item, as YouTube answers
            state = self.portfolio.stream_state(video, clock)
            item: dict[str, Any] = {
                "kind": "youtube#video",
                "etag": _token(vid, clock, length=27),
                "id": vid,
            }
            if "snippet" in parts:
                item["snippet"] = {
                    "publishedAt": _rfc3339(video.published_at),
                    "channelId": video.channel_id,
                    "title": video.title,
                    "description": video.description,
                    "tags": video.tags,
                    "categoryId": "25",
                    "liveBroadcastContent": state,
                }
            if "contentDetails" in parts:
                item["contentDetails"] = {
                    # a stream on air or not yet aired has no length
                    "duration": "P0D" if state != "none" else _iso_duration(video.duration_s),
                    "dimension": "2d",
                    "definition": "hd",
                    "caption": "false",
                    "licensedContent": True,
                }
            if "statistics" in parts:
                stats = self.portfolio.lifetime_stats(video, clock)
                item["statistics"] = {
                    "viewCount": str(stats["viewCount"]),
                    "likeCount": str(stats["likeCount"]),
                    "favoriteCount": "0",
                    "commentCount": str(stats["commentCount"]),
                }
            item.update(self._stream_and_status(video, clock, parts, state))
            items.append(item)
        return {
            "kind": "youtube#videoListResponse",
            "etag": _token("vl", ids, length=27),
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            "items": items,
        }

    def _stream_and_status(self, video, clock: date, parts: set[str], state: str) -> dict:
        """The `status` and `liveStreamingDetails` parts: private from the day a video went
        private; a stream's scheduled, actual start and end times."""
        out: dict[str, Any] = {}
        if "status" in parts:
            private = self.portfolio.is_private(video, clock)
            out["status"] = {
                "uploadStatus": "processed",
                "privacyStatus": "private" if private else "public",
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
        if "liveStreamingDetails" in parts and video.stream is not None:
            start = video.published_at
            details = {"scheduledStartTime": _rfc3339(start)}
            if state != "upcoming":
                details["actualStartTime"] = _rfc3339(start)
            if state == "none":
                details["actualEndTime"] = _rfc3339(start + timedelta(seconds=video.duration_s))
            out["liveStreamingDetails"] = details
        return out

    # -- Analytics API v2 ----------------------------------------------------------------
    def reports(self, params: dict[str, list[str]], clock: date) -> dict[str, Any]:
        query = self._report_query(params)
        rows = self._report_rows(query, clock)
        page = rows[query.start_index - 1 : query.start_index - 1 + query.max_results]
        headers = [
            {"name": d, "columnType": "DIMENSION", "dataType": "STRING"} for d in query.dims
        ] + [
            {
                "name": m,
                "columnType": "METRIC",
                "dataType": "FLOAT" if m == "averageViewPercentage" else "INTEGER",
            }
            for m in query.metrics
        ]
        return {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers, "rows": page}

    def _report_query(self, params: dict[str, list[str]]) -> _ReportQuery:
        """A reports.query request checked as the real API checks it (400 or 403 if not)."""
        validate("youtubeAnalytics.v2", "reports", "query", params)
        ids = _one(params, "ids", required=True) or ""
        start = _parse_date(_one(params, "startDate", required=True) or "", "startDate")
        end = _parse_date(_one(params, "endDate", required=True) or "", "endDate")
        if end < start:
            raise ApiError(400, "badRequest", "The query's endDate is before its startDate.")
        metrics = (_one(params, "metrics", required=True) or "").split(",")
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ApiError(
                400,
                "badRequest",
                f"Unknown identifier ({unknown[0]}) given in field parameters.metrics.",
            )
        dims = tuple(d for d in (_one(params, "dimensions") or "").split(",") if d)
        if dims not in self.analytics_dimensions:
            raise ApiError(400, "badRequest", "The query is not supported.")
        if not ids.startswith("channel=="):
            raise ApiError(400, "badRequest", f"Invalid value for ids: {ids}")
        channel = self.portfolio.channel(ids.removeprefix("channel=="))
        if channel is None:
            raise ApiError(403, "forbidden", "Forbidden")
        video_ids = self._video_filter(_one(params, "filters") or "", metrics, dims)
        max_results = int(_one(params, "maxResults") or 10_000)
        start_index = int(_one(params, "startIndex") or 1)
        if "video" in dims and max_results > self.analytics_page_max:
            raise ApiError(
                400,
                "badRequest",
                f"maxResults must be at most {self.analytics_page_max} for video reports.",
            )
        if start_index < 1 or max_results < 1:
            raise ApiError(400, "badRequest", "startIndex and maxResults must be positive.")
        videos = (
            channel.videos
            if video_ids is None
            else [
                self.portfolio.videos_by_id[v]
                for v in video_ids
                if v in self.portfolio.videos_by_id
                and self.portfolio.videos_by_id[v].channel_id == channel.channel_id
            ]
        )
        return _ReportQuery(videos, start, end, metrics, dims, max_results, start_index)

    def _video_filter(
        self, filters: str, metrics: list[str], dims: tuple[str, ...]
    ) -> list[str] | None:
        """The videos a report's `filters` names (None: every video of the channel)."""
        video_ids: list[str] | None = None
        for clause in filters.split(";"):
            if clause.startswith("video=="):
                video_ids = [v for v in clause.removeprefix("video==").split(",") if v]
            elif clause:
                raise ApiError(400, "badRequest", f"Invalid filter: {clause}")
        if "insightTrafficSourceType" in dims:
            if metrics != ["views"] and set(metrics) - {"views", "estimatedMinutesWatched"}:
                raise ApiError(400, "badRequest", "The query is not supported.")
            if video_ids is not None and len(video_ids) != 1:
                raise ApiError(
                    400, "badRequest", "Traffic source reports filter on at most one video."
                )
        if "video" in dims and video_ids is None:
            raise ApiError(
                400, "badRequest", "The query is not supported: a video filter is required."
            )
        if video_ids is not None and len(video_ids) > self.video_filter_max:
            raise ApiError(
                400, "badRequest", f"Too many videos in filter (max {self.video_filter_max})."
            )
        return video_ids

    def _report_rows(self, query: _ReportQuery, clock: date) -> list[list]:
        """Every row of a report (before paging), remembered for the next page's request."""
        q = query
        key = (tuple(v.video_id for v in q.videos), q.start, q.end, tuple(q.metrics), q.dims, clock)
        with self._cache_lock:
            rows = self._row_cache.get(key)
        if rows is None:
            if "insightTrafficSourceType" in q.dims:
                rows = self._traffic_rows(q.videos, q.start, q.end, q.metrics, clock)
            else:
                rows = self._rows(q.videos, q.start, q.end, q.metrics, q.dims, clock)
            with self._cache_lock:
                self._row_cache[key] = rows
                while len(self._row_cache) > 16:
                    self._row_cache.popitem(last=False)
        return rows

    def _traffic_rows(self, videos, start: date, end: date, metrics: list[str], clock: date):
        """Views by traffic source per day; a video's sources add up to its views exactly."""
        totals: dict[tuple[str, str], int] = {}
        last = min(end, self.portfolio.last_available(clock))
        for video in videos:
            day = max(start, video.publish_date)
            while day <= last:
                row = self.portfolio.served_metrics(video, day, clock)
                if row is not None and row["views"]:
                    split = self.portfolio.split_by_source(video, int(row["views"]), day)
                    for source, n in split.items():
                        key = (day.isoformat(), source)
                        totals[key] = totals.get(key, 0) + n
                day += timedelta(days=1)
        return [
            [d, src, *(totals[(d, src)] if m == "views" else 0 for m in metrics)]
            for d, src in sorted(totals)
        ]

    def _rows(
        self, videos, start: date, end: date, metrics: list[str], dims: tuple[str, ...], clock: date
    ):
        per_key: dict[tuple, dict[str, float]] = {}
        last = min(end, self.portfolio.last_available(clock))
        for video in sorted(videos, key=lambda v: v.video_id):
            day = max(start, video.publish_date)
            while day <= last:
                row = self.portfolio.served_metrics(video, day, clock)
                if row is not None:
                    row = {**row, **self._misreported.get((video.video_id, day), {})}
                    key = tuple(day.isoformat() if d == "day" else video.video_id for d in dims)
                    acc = per_key.setdefault(
                        key, {m: 0 for m in METRICS} | {"_views_x_pct": 0.0, "_views_x_dur": 0.0}
                    )
                    for m in METRICS:
                        acc[m] += row[m]
                    acc["_views_x_pct"] += row["views"] * row["averageViewPercentage"]
                    acc["_views_x_dur"] += row["views"] * row["averageViewDuration"]
                day += timedelta(days=1)
        out = []
        for key in sorted(per_key):
            acc = per_key[key]
            if "video" not in dims:  # averages over several videos are view-weighted
                acc["averageViewPercentage"] = (
                    round(acc["_views_x_pct"] / acc["views"], 2) if acc["views"] else 0.0
                )
                acc["averageViewDuration"] = (
                    round(acc["_views_x_dur"] / acc["views"]) if acc["views"] else 0
                )
            out.append([*key, *(acc[m] for m in metrics)])
        return out


def _encode_page_token(offset: int) -> str:
    return f"CAU{offset:06d}QAA"


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    if not (token.startswith("CAU") and token.endswith("QAA") and token[3:-3].isdigit()):
        raise ApiError(400, "invalidPageToken", "The request specifies an invalid page token.")
    return int(token[3:-3])
