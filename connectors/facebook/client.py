"""Facebook Pages' Graph endpoints, called through the shared GraphClient
(connectors/graph.py): the Page's published posts and its day insights."""

from __future__ import annotations

from datetime import date

from connectors.facebook import settings
from connectors.graph import GraphClient, day_insights, days_with_data
from contentpulse.streams import Window


def listed(client: GraphClient, page_id: str) -> list[dict]:
    """The Page's published posts (`/{page-id}/posts`, cursor paging), once each."""
    posts: list[dict] = []
    params = {"fields": settings.POST_FIELDS, "limit": settings.PAGE_LIMIT}
    for response in client.pages(f"{page_id}/posts", params, "posts"):
        posts.extend(response.body.get("data") or [])
    return list({p["id"]: p for p in posts}.values())


def page_days(
    client: GraphClient, page_id: str, window: Window, today: date, first_post: date | None
) -> dict[date, dict[str, int | None]]:
    """The Page's insights for each day of the window it has (from its first post's day up to
    `today`), at most PAGE_INSIGHTS_MAX_DAYS a call."""
    span = days_with_data(client, window, first_post, today)
    if span is None:
        return {}
    return day_insights(
        client,
        page_id,
        settings.PAGE_DAY_METRICS,
        *span,
        settings.PAGE_INSIGHTS_MAX_DAYS,
        "page insights",
    )
