"""Instagram's Graph endpoints, called through the shared GraphClient (connectors/graph.py):
the account's media and today's stories, and its day insights."""

from __future__ import annotations

from datetime import date, timedelta

from connectors.graph import GraphClient, day_insights, day_totals, days_with_data
from connectors.instagram import settings
from contentpulse.streams import Window


def listed(client: GraphClient, account_id: str) -> list[dict]:
    """The account's media (`/{ig-user-id}/media`) and today's stories (`/stories`), cursor
    paging, once each."""
    media: list[dict] = []
    for edge in ("media", "stories"):
        params = {"fields": settings.MEDIA_FIELDS, "limit": settings.PAGE_LIMIT}
        for page in client.pages(f"{account_id}/{edge}", params, edge):
            media.extend(page.body.get("data") or [])
    return list({m["id"]: m for m in media}.values())


def account_days(
    client: GraphClient, account_id: str, window: Window, today: date, first_post: date | None
) -> dict[date, dict[str, int | None]]:
    """The account's insights for each day of the window Instagram has (from its first
    post's day up to `today`, none older than it keeps): reach and new followers as time
    series, at most 30 days a call, and views as one total a day (one call each)."""
    kept = today - timedelta(days=settings.INSIGHTS_KEPT_DAYS - 1)
    span = days_with_data(client, window, first_post, today, kept)
    if span is None:
        return {}
    start, end = span
    days = day_insights(
        client,
        account_id,
        settings.ACCOUNT_DAY_METRICS,
        start,
        end,
        settings.ACCOUNT_INSIGHTS_MAX_DAYS,
        "account insights",
    )
    totals = day_totals(
        client, account_id, settings.ACCOUNT_TOTAL_METRICS, start, end, "account views"
    )
    return {d: days.get(d, {}) | totals.get(d, {}) for d in sorted(set(days) | set(totals))}
