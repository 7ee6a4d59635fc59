"""Facebook Pages connector (Graph API): published posts, their lifetime insights, page days.

`extract_items` lists the Page's published posts (`/{page-id}/posts`, cursor paging) as
content_items, snapshots the Page (followers, fans) and reads its day insights for the
window (account_daily). It returns the posts due for a snapshot (the age-based re-poll plan
over what earlier runs landed), in batches; `extract_metrics` reads one batch's lifetime
post insights from the metric registry as content_snapshots, beside the reactions, comments
and shares counted with the listing, and records refused metrics as insight_issues.
Native metric names are kept; staging renames.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from connectors import social
from connectors.facebook import client as client_calls
from connectors.facebook import settings
from connectors.facebook.settings import FacebookSource
from connectors.graph import (
    GraphClient,
    GraphPost,
    Listing,
    budget,
    count,
    extract_snapshots,
    listing_result,
    published,
)
from connectors.quota import Throttle
from connectors.social import metric_units, plan_chunks
from contentpulse.config import Account
from contentpulse.contract import Hooks, LandedState
from contentpulse.credentials import Connection
from contentpulse.streams import (
    ExtractResult,
    Window,
    find_hashtags,
    find_links,
    parsing,
    text_id,
)

log = logging.getLogger(__name__)


def _media_type(post: dict) -> str | None:
    attachments = (post.get("attachments") or {}).get("data") or []
    return attachments[0].get("media_type") if attachments else None


def _total(post: dict, edge: str) -> int | None:
    """`reactions.summary(total_count)` -> the count; None when the edge is not readable."""
    summary = (post.get(edge) or {}).get("summary")
    value = summary.get("total_count") if isinstance(summary, dict) else None
    return int(value) if isinstance(value, int | float) else None


def _counters(post: dict) -> dict[str, int | None]:
    shares = post.get("shares")
    return {
        "reactions": _total(post, "reactions"),
        "comments": _total(post, "comments"),
        # Graph omits `shares` for a post nobody shared
        "shares": int(shares.get("count", 0)) if isinstance(shares, dict) else 0,
    }


def _item_row(post: dict, account: Account) -> dict:
    with parsing(f"facebook {account.id}: post"):
        return _post_row(post, account)


def _post_row(post: dict, account: Account) -> dict:
    message = post.get("message") or ""
    media_type = _media_type(post)
    return {
        "account_id": account.id,
        "item_id": text_id(post["id"]),
        "title": message.split("\n", 1)[0][:200],
        "description": message,
        "tags": find_hashtags(message),
        "published_at": published(post["created_time"]),
        "duration_s": None,
        "format": "video" if media_type == "video" else "post",
        "media_type": media_type,
        "product_type": settings.VIDEO if media_type == "video" else settings.FEED,
        "url": post.get("permalink_url"),
        "links": find_links(message),
        "parent_id": None,
        "raw_json": json.dumps(post, ensure_ascii=False, sort_keys=True),
    }


def extract_items(
    account: Account,
    window: Window,
    source: FacebookSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
    state: dict[str, date] | None = None,
) -> tuple[ExtractResult, list[list[GraphPost]]]:
    """The Page's published posts, its snapshot and day insights; and the due posts."""
    extracted_at = datetime.now(UTC)
    zone = ZoneInfo(account.timezone)
    with GraphClient(settings.PLATFORM, account.id, conn, source, throttle) as client:
        page = client.get(account.id, {"fields": settings.PAGE_FIELDS}, "page")
        today = social.snapshot_date(page.date, account.timezone)
        unique = client_calls.listed(client, account.id)
        items = [_item_row(p, account) for p in unique]
        first_post = min((r["published_at"].astimezone(zone).date() for r in items), default=None)
        days = client_calls.page_days(client, account.id, window, today, first_post)
    listing = Listing(
        today,
        items,
        [_counters(p) for p in unique],
        days,
        {
            "name": page.body.get("name"),
            "followers_count": count(page.body.get("followers_count")),
            "fan_count": count(page.body.get("fan_count")),
        },
        client.calls,
        extracted_at,
        run_id,
    )
    return listing_result(settings, account, window, listing, source, state)


def extract_metrics(
    account: Account,
    chunk: Window,
    batch: list[GraphPost],
    source: FacebookSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """One batch of due posts: lifetime post insights, refused metrics recorded."""
    return extract_snapshots(settings, account, chunk, batch, source, conn, run_id, throttle)


# the landed snapshots are the state: a stopped run resumes from them, not from windows
HOOKS = Hooks(
    plan_chunks=plan_chunks,
    extract_items=extract_items,
    extract_metrics=extract_metrics,
    budget=budget,
    metric_units=metric_units,
    landed_state=LandedState(social.SNAPSHOT_STATE, social.newest_reads),
    resume_by_window=False,
)
