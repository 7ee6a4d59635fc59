"""TikTok connector: a user's videos with lifetime counters, read as daily snapshots.

TikTok shows a video's counters as lifetime totals only (Display API v2), and for business
accounts the Business API adds organic insights (reach, watch time, completion), also
lifetime. So, as for the other social platforms (`connectors/social.py`), a run lands one
`content_snapshots` row per video it reads, dated the reporting day the counters are
complete through, and staging turns consecutive snapshots into daily deltas.

`extract_items` reads the account's counters (user/info: account_snapshots), lists its
videos newest first until it reaches videos already landed (content_items), reads a
business account's metrics by day (business/get/, one call for the window: account_daily),
and plans the videos due for a snapshot by the age-based re-poll schedule. `extract_metrics` reads one
batch of due videos by id (video/query, and business/video/list filtered by id for
business accounts): content_snapshots, insight_issues and an extract_log row. A stopped
run resumes because the landed snapshots are the re-poll state. `extract` runs it all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa

from connectors import social
from connectors.quota import Budget, Throttle
from connectors.retry import RetryPolicy
from connectors.social import metric_units, plan_chunks
from connectors.tiktok import settings
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.settings import TikTokSource
from contentpulse.config import Account
from contentpulse.contract import Hooks, LandedState
from contentpulse.credentials import Connection
from contentpulse.errors import CredentialsError
from contentpulse.streams import (
    ExtractResult,
    Window,
    find_hashtags,
    find_links,
    parsing,
    text_id,
)

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Video:
    """A video due for a snapshot."""

    item_id: str
    published_at: datetime


@dataclass
class Landed:
    """What earlier runs landed for one account: the re-poll state."""

    last_read: dict[str, date] = field(default_factory=dict)  # item_id -> newest snapshot day
    published: dict[str, datetime] = field(default_factory=dict)  # item_id -> published_at


# what the state is read from: the landed snapshots, and the videos listed before
STATE = {**social.SNAPSHOT_STATE, "content_items": ("item_id", "published_at")}


def landed_state(landed: Mapping[str, pa.Table | None]) -> Landed:
    """The newest snapshot of every landed video, and when each listed video was published
    (videos listed before are not listed again, so their dates come from the landing)."""
    table = landed.get("content_items")
    published: dict[str, datetime] = {}
    if table is not None:
        for item, moment in zip(
            table.column("item_id").to_pylist(),
            table.column("published_at").to_pylist(),
            strict=True,
        ):
            if moment is not None:
                published[item] = moment
    return Landed(social.newest_reads(landed), published)


def budget(source: TikTokSource) -> Budget:
    return Budget({settings.CALLS: source.budget_calls})


def _client(
    account: Account, source: TikTokSource, conn: Connection, throttle: Throttle | None
) -> TikTokClient:
    return TikTokClient(
        account.id,
        conn,
        source.base_url,
        source.business_base_url,
        source.token_uri,
        source.timeout_s,
        RetryPolicy(max_attempts=source.max_attempts),
        throttle,
    )


def _int(value: object) -> int | None:
    if value is None or value == "":
        return None
    return round(float(value))  # type: ignore[arg-type]


def _float(value: object) -> float | None:
    return None if value is None or value == "" else float(value)  # type: ignore[arg-type]


def _published(video: dict) -> datetime:
    return datetime.fromtimestamp(int(video["create_time"]), UTC)


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _list_new_videos(client: TikTokClient, known: dict[str, datetime]) -> list[dict]:
    """Videos newest first, page by page, until a page reaches one listed before: videos
    only ever appear at the top, so everything after it is known."""
    videos: list[dict] = []
    body: dict = {"max_count": settings.PAGE_SIZE}
    while True:
        page = client.display("POST", settings.VIDEO_LIST, settings.VIDEO_FIELDS, body).data
        batch = page.get("videos") or []
        videos += batch
        if any(str(v.get("id")) in known for v in batch):
            return videos
        if not page.get("has_more") or not batch:
            return videos
        body = {"max_count": settings.PAGE_SIZE, "cursor": page.get("cursor")}


def _item_row(account: Account, video: dict, extracted_at: datetime, run_id: str) -> dict:
    with parsing(f"tiktok {account.id}: video"):
        return _video_row(account, video, extracted_at, run_id)


def _video_row(account: Account, video: dict, extracted_at: datetime, run_id: str) -> dict:
    description = video.get("video_description") or ""
    return {
        "account_id": account.id,
        "item_id": text_id(video["id"]),
        "title": video.get("title") or "",
        "description": description,
        "tags": find_hashtags(description),
        "published_at": _published(video),
        "duration_s": _int(video.get("duration")),
        "format": "short",
        "media_type": "VIDEO",
        "product_type": "VIDEO",
        "url": video.get("share_url"),
        "links": find_links(description),
        "parent_id": None,
        "raw_json": json.dumps(video, ensure_ascii=False, sort_keys=True),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }


def _account_days(
    client: TikTokClient, account: Account, window: Window, today: date
) -> list[dict]:
    """A business account's metrics by day (business/get/, one call): the window and the
    day before it (the followers total staging takes the first day's change from), clipped
    to the days TikTok keeps. TikTok's newest day lags a day or two: the days it does not
    serve yet are not landed, and the next night's lookback reads them."""
    oldest = today - timedelta(days=settings.ACCOUNT_METRICS_KEPT_DAYS - 2)
    start = max(window.start - timedelta(days=1), oldest)
    end = min(window.end, today)
    if start > end:
        return []
    reply = client.business(
        settings.BUSINESS_GET,
        {
            "business_id": account.id,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "fields": json.dumps(list(settings.ACCOUNT_METRICS)),
        },
    )
    rows = []
    with parsing(f"tiktok {account.id}: business/get metrics"):
        for entry in reply.data.get("metrics") or []:
            day = date.fromisoformat(entry["date"])
            if start <= day <= end:
                rows.append(
                    {
                        "account_id": account.id,
                        "date": day,
                        **{m: _int(entry.get(m)) for m in settings.ACCOUNT_METRICS},
                    }
                )
    return rows


def extract_items(
    account: Account,
    window: Window,
    source: TikTokSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
    state: Landed | None = None,
) -> tuple[ExtractResult, list[list[Video]]]:
    """The account's counters, its new videos, and the batches of videos due a snapshot."""
    state = state or Landed()
    extracted_at = datetime.now(UTC)
    with _client(account, source, conn, throttle) as client:
        user_reply = client.display("GET", settings.USER_INFO, settings.USER_FIELDS)
        today = social.snapshot_date(user_reply.server_date, account.timezone)
        user = user_reply.data.get("user") or {}
        if user.get("open_id") not in (None, account.id):
            raise CredentialsError(
                f"tiktok {account.id}: connection {account.conn_id!r} authorises open_id "
                f"{user.get('open_id')!r}, not this account"
            )
        listed = _list_new_videos(client, state.published)
        business = account.id in source.business_accounts
        days = _account_days(client, account, window, today) if business else None
    items = [_item_row(account, v, extracted_at, run_id) for v in listed]
    snapshot = {
        "account_id": account.id,
        "snapshot_date": today,
        **{m: _int(user.get(m)) for m in settings.USER_FIELDS[2:]},
        "extracted_at": extracted_at,
        "run_id": run_id,
    }
    published = state.published | {row["item_id"]: row["published_at"] for row in items}
    # newest first: if the run is stopped, the young videos (read every night) are done
    due = [
        Video(item_id, moment)
        for item_id, moment in sorted(
            published.items(), key=lambda kv: (kv[1], kv[0]), reverse=True
        )
        if social.due(
            _local_day(moment, account.timezone),
            state.last_read.get(item_id),
            today,
            source.repoll.daily_until,
            source.repoll.ages,
        )
    ]
    schemas = settings.SCHEMAS
    tables = {
        "content_items": pa.Table.from_pylist(items, schema=schemas["content_items"]),
        "account_snapshots": pa.Table.from_pylist([snapshot], schema=schemas["account_snapshots"]),
    }
    if days is not None:
        for row in days:
            row.update(extracted_at=extracted_at, run_id=run_id)
        tables["account_daily"] = pa.Table.from_pylist(days, schema=schemas["account_daily"])
    log.info(
        "tiktok %s: %d new videos listed, %d of %d due a snapshot for %s, %s (%d calls)",
        account.id,
        len(items),
        len(due),
        len(published),
        today,
        "no account days (not a business account)" if days is None else f"{len(days)} account days",
        client.calls.calls,
    )
    last = max((row["date"] for row in days or []), default=None)
    result = ExtractResult(settings.PLATFORM, account.id, window, tables, client.calls, last)
    return result, social.batches(due, source.batch_size)


def _business_metrics(client: TikTokClient, account: Account, ids: list[str]) -> dict[str, dict]:
    """Organic insights of these videos (business/video/list filtered by id)."""
    found: dict[str, dict] = {}
    for page in social.batches(ids, settings.PAGE_SIZE):
        if not page:
            continue
        reply = client.business(
            settings.BUSINESS_VIDEO_LIST,
            {
                "business_id": account.id,
                "fields": json.dumps(list(settings.BUSINESS_FIELDS)),
                "filters": json.dumps({"video_ids": page}),
                "max_count": settings.PAGE_SIZE,
            },
        )
        for video in reply.data.get("videos") or []:
            found[str(video.get("item_id"))] = video
    return found


def extract_metrics(
    account: Account,
    chunk: Window,
    batch: list[Video],
    source: TikTokSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """Lifetime counters of one batch of due videos, as of the server's today."""
    extracted_at = datetime.now(UTC)
    ids = [v.item_id for v in batch]
    business = account.id in source.business_accounts
    displayed: dict[str, dict] = {}
    server_date = None
    with _client(account, source, conn, throttle) as client:
        for page in social.batches(ids, settings.PAGE_SIZE):
            if not page:
                continue
            reply = client.display(
                "POST",
                settings.VIDEO_QUERY,
                settings.VIDEO_FIELDS,
                {"filters": {"video_ids": page}},
            )
            server_date = server_date or reply.server_date
            for video in reply.data.get("videos") or []:
                displayed[str(video.get("id"))] = video
        organic: dict[str, dict] = {}
        if business and displayed:
            organic = _business_metrics(client, account, [i for i in ids if i in displayed])
    today = social.snapshot_date(server_date, account.timezone)
    rows, issues = [], []

    def issue(item_id: str, metric: str, code: str, message: str) -> None:
        issues.append(
            {
                "account_id": account.id,
                "item_id": item_id,
                "snapshot_date": today,
                "metric": metric,
                "code": code,
                "message": message,
                "extracted_at": extracted_at,
                "run_id": run_id,
            }
        )

    for item_id in ids:
        video = displayed.get(item_id)
        if video is None:
            issue(item_id, "view_count", "not_found", "video/query did not return the video")
            continue
        row = {
            "account_id": account.id,
            "item_id": item_id,
            "snapshot_date": today,
            "product_type": "VIDEO",
            **{m: _int(video.get(m)) for m in settings.DISPLAY_METRICS},
            "extracted_at": extracted_at,
            "run_id": run_id,
        }
        if business:
            insights = organic.get(item_id)
            if insights is None:
                issue(item_id, "reach", "not_returned", "business/video/list returned no insights")
            else:
                row |= {m: _int(insights.get(m)) for m in settings.BUSINESS_INT_METRICS}
                row |= {m: _float(insights.get(m)) for m in settings.BUSINESS_FLOAT_METRICS}
        rows.append(row)
    schemas = settings.SCHEMAS
    tables = {
        "content_snapshots": pa.Table.from_pylist(rows, schema=schemas["content_snapshots"]),
        "insight_issues": pa.Table.from_pylist(issues, schema=schemas["insight_issues"]),
    }
    last = today if rows else None
    log_row = {
        "account_id": account.id,
        "window_start": chunk.start,
        "window_end": chunk.end,
        "snapshot_date": today,
        "last_date_returned": last,
        "items_due": len(ids),
        "items_read": len(rows),
        "calls": client.calls.calls,
        "retries": client.calls.retries,
        "rows": sum(t.num_rows for t in tables.values()),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }
    tables["extract_log"] = pa.Table.from_pylist([log_row], schema=schemas["extract_log"])
    return ExtractResult(settings.PLATFORM, account.id, chunk, tables, client.calls, last)


# the landed snapshots are the state a stopped run resumes from, not the landed windows
HOOKS = Hooks(
    plan_chunks=plan_chunks,
    extract_items=extract_items,
    extract_metrics=extract_metrics,
    budget=budget,
    metric_units=metric_units,
    landed_state=LandedState(STATE, landed_state),
    resume_by_window=False,
)
# the one-shot form: every unit in order, one after another (tests and scripts)
extract = HOOKS.extract
