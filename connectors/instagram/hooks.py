"""Instagram connector (Graph API): media, their lifetime insights, the account's days.

`extract_items` lists the account's media (`/{ig-user-id}/media`, cursor paging) and
today's stories (`/{ig-user-id}/stories`) as content_items, snapshots the account
(followers, follows, media count) and reads its day insights for the window
(account_daily: reach and new followers as time series, views one day a call as a
`total_value`, the only way Instagram serves them). It returns the posts due for a
snapshot (the age-based re-poll plan over what earlier runs landed), in batches;
`extract_metrics` reads one batch's lifetime insights, per media product type from the
metric registry, as content_snapshots, with the metrics the API refused as
insight_issues. Stories must be read the day after they went up: their insights live 24
hours. Native metric names are kept; staging renames.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from connectors import social
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
from connectors.instagram import client as client_calls
from connectors.instagram import settings
from connectors.instagram.settings import InstagramSource
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


def media_format(media_type: str, product_type: str) -> str:
    if product_type == "REELS":
        return "reel"
    if product_type == "STORY":
        return "story"
    return "carousel" if media_type == "CAROUSEL_ALBUM" else "post"


def _item_row(media: dict, account: Account) -> dict:
    with parsing(f"instagram {account.id}: media"):
        return _media_row(media, account)


def _media_row(media: dict, account: Account) -> dict:
    caption = media.get("caption") or ""
    product_type = media.get("media_product_type") or ""
    media_type = media.get("media_type") or ""
    return {
        "account_id": account.id,
        "item_id": text_id(media["id"]),
        "title": caption.split("\n", 1)[0][:200],
        "description": caption,
        "tags": find_hashtags(caption),
        "published_at": published(media["timestamp"]),
        "duration_s": None,  # the media fields carry no duration
        "format": media_format(media_type, product_type),
        "media_type": media_type,
        "product_type": product_type,
        "url": media.get("permalink"),
        "links": find_links(caption),
        "parent_id": None,
        "raw_json": json.dumps(media, ensure_ascii=False, sort_keys=True),
    }


def extract_items(
    account: Account,
    window: Window,
    source: InstagramSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
    state: dict[str, date] | None = None,
) -> tuple[ExtractResult, list[list[GraphPost]]]:
    """The account's media and stories, its snapshot and day insights; and the due posts."""
    extracted_at = datetime.now(UTC)
    zone = ZoneInfo(account.timezone)
    with GraphClient(settings.PLATFORM, account.id, conn, source, throttle) as client:
        profile = client.get(account.id, {"fields": settings.ACCOUNT_FIELDS}, "account")
        today = social.snapshot_date(profile.date, account.timezone)
        unique = client_calls.listed(client, account.id)
        items = [_item_row(m, account) for m in unique]
        first_post = min((r["published_at"].astimezone(zone).date() for r in items), default=None)
        days = client_calls.account_days(client, account.id, window, today, first_post)
    body = profile.body
    listing = Listing(
        today,
        items,
        [{c: count(m.get(c)) for c in settings.FIELD_COUNTERS} for m in unique],
        days,
        {
            "username": body.get("username"),
            **{c: count(body.get(c)) for c in ("followers_count", "follows_count", "media_count")},
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
    source: InstagramSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """One batch of due posts: lifetime insights per product type, refused metrics recorded."""
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
