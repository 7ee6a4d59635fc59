"""Sample platform exports for the CSV connector's tests and the demo, and their ground truth.

LinkedIn's post export (a description line above the header, US dates, `1,234` numbers,
percentage columns, blank views for posts without video) and X's tweet activity export
(tweet id, permalink, text, time with offset, `157.0` impressions, engagement rate as a
fraction), for a few dozen posts an account, as of a given day. Every value follows from
(seed, account, post): each post has final daily increments of its counters from its local
publish day on, and an export "through" day D holds the sums up to and including D, the
day its counters are complete through. `truth()` gives those rows in unified names, as the
connector must land them.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from sandbox.portfolio import HOSTILE_TITLES

PLATFORMS = ("linkedin", "x")
# the counters each platform exports, in unified names
METRICS = {
    "linkedin": (
        "impressions",
        "views",
        "clicks",
        "likes",
        "comments",
        "shares",
        "followers_gained",
    ),
    "x": ("impressions", "views", "clicks", "likes", "comments", "shares", "followers_gained"),
}
# LinkedIn's Content Type -> our format (X's export has no type: its posts are posts)
FORMATS = {
    "Text": "post",
    "Image": "post",
    "Article": "post",
    "Video": "video",
    "Document": "carousel",
}
LINKEDIN_HEADER = [
    "Post title",
    "Post link",
    "Post type",
    "Campaign name",
    "Posted by",
    "Created date",
    "Campaign start date",
    "Campaign end date",
    "Audience",
    "Impressions",
    "Views",
    "Clicks",
    "Click through rate (CTR)",
    "Reactions",
    "Comments",
    "Reposts",
    "Follows",
    "Engagement rate",
    "Content Type",
]
X_HEADER = [
    "Tweet id",
    "Tweet permalink",
    "Tweet text",
    "time",
    "impressions",
    "engagements",
    "engagement rate",
    "retweets",
    "replies",
    "likes",
    "user profile clicks",
    "url clicks",
    "hashtag clicks",
    "detail expands",
    "permalink clicks",
    "app opens",
    "app installs",
    "follows",
    "email tweet",
    "dial phone",
    "media views",
    "media engagements",
]
_TOPICS = [
    "Quarterly results, explained in 90 seconds",
    "How our newsroom verifies a viral video",
    "Hiring: data reporter (remote, Berlin or Lisbon)",
    "5 charts on housing costs, 2026 edition",
    "Behind the scenes: the election night desk",
    "Ask us anything about the climate series",
    "Nuestro equipo en Madrid: periodismo de datos",
    "東京支局から: 今週のニュースまとめ",
    "Newsletter #100 — thank you, readers",
    "Why we stopped chasing clicks",
    'Our editor on "slow news", commas, and quotes',
    "Three tools every producer should know",
]


def export_types() -> dict[str, dict]:
    """The `csv_export.exports` config for these files (used by the tests and the demo)."""
    return {
        "linkedin_posts": {
            "platform": "linkedin",
            "kind": "snapshot",
            "match": "*linkedin*.csv",
            "export_date": "filename",
            "date_format": "%m/%d/%Y",
            "skip_rows": 1,
            "item_id_pattern": r"urn:li:activity:(\d+)",
            "formats": dict(FORMATS),
            "columns": {
                "item_id": "Post link",
                "url": "Post link",
                "title": "Post title",
                "published_at": "Created date",
                "format": "Content Type",
                # LinkedIn's headline figure is impressions ("Views" counts video plays only)
                "impressions": "Impressions",
                "views": "Impressions",
                "clicks": "Clicks",
                "likes": "Reactions",
                "comments": "Comments",
                "shares": "Reposts",
                "followers_gained": "Follows",
            },
        },
        "x_posts": {
            "platform": "x",
            "kind": "snapshot",
            "match": "tweet_activity_metrics_*.csv",
            "date_format": "%Y-%m-%d %H:%M %z",
            "format": "post",
            "columns": {
                "item_id": "Tweet id",
                "url": "Tweet permalink",
                "title": "Tweet text",
                "published_at": "time",
                # X shows impressions as a post's views ("media views" are video plays)
                "impressions": "impressions",
                "views": "impressions",
                "clicks": "url clicks",
                "likes": "likes",
                "comments": "replies",
                "shares": "retweets",
                "followers_gained": "follows",
            },
        },
    }


@dataclass(frozen=True)
class ExportAccountSpec:
    account_id: str
    platform: str  # linkedin | x
    name: str
    posts: int
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown export platform {self.platform!r}")


@dataclass
class ExportPost:
    item_id: str
    url: str
    text: str
    published_at: datetime  # UTC, as the export states it (LinkedIn: the local day's midnight)
    publish_day: date  # in the account's time zone
    content_type: str  # LinkedIn: Text, Image, Video, Article, Document; X: text, media
    daily: dict[str, list[int]] = field(repr=False)  # index 0 = publish_day

    def lifetime(self, metric: str, through: date) -> int | None:
        """The counter complete through `through` (None: the platform shows none)."""
        values = self.daily.get(metric)
        if values is None:
            return None
        return sum(values[: max(0, (through - self.publish_day).days + 1)])


class ExportPortfolio:
    """Accounts reached through exports and their posts between `start` and `end`."""

    def __init__(
        self, accounts: list[ExportAccountSpec], start: date, end: date, seed: int = 5
    ) -> None:
        if end < start:
            raise ValueError("portfolio end is before its start")
        self.specs = {a.account_id: a for a in accounts}
        self.start, self.end, self.seed = start, end, seed

    @classmethod
    def demo(cls, end: date, posts: int = 36) -> ExportPortfolio:
        specs = [
            ExportAccountSpec(
                "northwind-linkedin", "linkedin", "Northwind on LinkedIn", posts, "America/New_York"
            ),
            ExportAccountSpec("northwind-x", "x", "Northwind on X", posts, "Europe/London"),
        ]
        return cls(specs, end - timedelta(days=59), end)

    @cached_property
    def _posts(self) -> dict[str, list[ExportPost]]:
        return {a: self._make_posts(spec) for a, spec in self.specs.items()}

    def posts(self, account_id: str) -> list[ExportPost]:
        return self._posts[account_id]

    def _make_posts(self, spec: ExportAccountSpec) -> list[ExportPost]:
        tz = ZoneInfo(spec.timezone)
        span = (self.end - self.start).days + 1
        posts = []
        for i in range(spec.posts):
            rng = random.Random(f"{self.seed}|{spec.account_id}|{i}")
            day = self.start + timedelta(days=min(span - 1, int(i * span / spec.posts)))
            local = datetime.combine(day, time(8 + rng.randrange(10), rng.randrange(60)), tz)
            topic = _TOPICS[rng.randrange(len(_TOPICS))]
            text = HOSTILE_TITLES[i] if i < len(HOSTILE_TITLES) else topic
            if i % 4 == 1:
                text += " #media #datajournalism"
            if i % 5 == 2:
                text += "\nRead more: https://northwind.example/stories/" + str(1000 + i)
            if spec.platform == "linkedin":
                item_id = str(7_200_000_000_000_000_000 + rng.randrange(10**17))
                url = f"https://www.linkedin.com/feed/update/urn:li:activity:{item_id}"
                kind = ("Text", "Image", "Video", "Article", "Document")[i % 5]
                # LinkedIn states the creation day only: the post counts from its midnight
                published = datetime.combine(day, time(0), tz).astimezone(UTC)
            else:
                item_id = str(1_850_000_000_000_000_000 + rng.randrange(10**17))
                url = f"https://x.com/{spec.account_id}/status/{item_id}"
                kind = "media" if i % 3 == 0 else "text"
                published = local.astimezone(UTC).replace(second=0, microsecond=0)
            has_video = kind in ("Video", "media")
            posts.append(
                ExportPost(
                    item_id=item_id,
                    url=url,
                    text=text,
                    published_at=published,
                    publish_day=day,
                    content_type=kind,
                    daily=self._daily(
                        rng, spec.platform, span - (day - self.start).days, has_video
                    ),
                )
            )
        return posts

    @staticmethod
    def _daily(rng: random.Random, platform: str, days: int, video: bool) -> dict[str, list[int]]:
        """Final daily increments: a decaying curve, now and then a viral one."""
        peak = rng.lognormvariate(6.5, 0.9) * (8 if rng.random() < 0.06 else 1)
        half_life = rng.uniform(0.6, 2.5)
        impressions = [
            int(peak * math.exp(-d * math.log(2) / half_life) * rng.uniform(0.7, 1.3))
            for d in range(days)
        ]
        rates = {
            "clicks": 0.02,
            "likes": 0.025,
            "comments": 0.003,
            "shares": 0.002,
            "followers_gained": 0.001,
        }
        daily = {"impressions": impressions}
        for metric, rate in rates.items():
            daily[metric] = [int(n * rate * rng.uniform(0.5, 1.5)) for n in impressions]
        if video:
            daily["views"] = [int(n * rng.uniform(0.2, 0.5)) for n in impressions]
        elif platform == "x":
            daily["views"] = [0] * days  # X writes 0 media views for a post without media
        return daily

    def visible(self, account_id: str, through: date) -> list[ExportPost]:
        """The posts an export through `through` lists: published by then, newest first."""
        return [p for p in reversed(self.posts(account_id)) if p.publish_day <= through]

    def truth(self, account_id: str, through: date) -> list[dict]:
        """What an export through `through` holds, one dict per post in unified names."""
        platform = self.specs[account_id].platform
        rows = []
        for post in self.visible(account_id, through):
            row = {
                "item_id": post.item_id,
                "snapshot_date": through,
                "title": post.text,
                "url": post.url,
                "published_at": post.published_at,
                "format": FORMATS[post.content_type] if platform == "linkedin" else "post",
            }
            for metric in METRICS[platform]:
                row[metric] = post.lifetime(metric, through)
            row["views"] = row["impressions"]  # export_types() maps views to impressions
            rows.append(row)
        return rows

    def file_name(self, account_id: str, through: date) -> str:
        spec = self.specs[account_id]
        if spec.platform == "linkedin":
            return f"{spec.account_id}_linkedin_content_{through.isoformat()}.csv"
        first = through - timedelta(days=27)
        return f"tweet_activity_metrics_{spec.account_id}_{first:%Y%m%d}_{through:%Y%m%d}_en.csv"

    def write(self, folder: Path, account_id: str, through: date) -> Path:
        """Write the account's export through `through` into `folder`; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.file_name(account_id, through)
        platform = self.specs[account_id].platform
        rows = (self._linkedin_rows if platform == "linkedin" else self._x_rows)(
            account_id, through
        )
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if platform == "linkedin":
                fh.write(
                    "All posts,Engagement metrics for individual posts"
                    f" ({self.start:%b %d, %Y} - {through:%b %d, %Y})\r\n"
                )
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(LINKEDIN_HEADER if platform == "linkedin" else X_HEADER)
            writer.writerows(rows)
        return path

    def _linkedin_rows(self, account_id: str, through: date) -> list[list[str]]:
        spec = self.specs[account_id]
        rows = []
        for post in self.visible(account_id, through):
            n = {m: post.lifetime(m, through) for m in METRICS["linkedin"]}
            engaged = n["clicks"] + n["likes"] + n["comments"] + n["shares"]
            rows.append(
                [
                    post.text,
                    post.url,
                    "Organic",
                    "",
                    spec.name,
                    f"{post.publish_day:%m/%d/%Y}",
                    "",
                    "",
                    "All followers",
                    f"{n['impressions']:,}",
                    "" if n["views"] is None else f"{n['views']:,}",
                    f"{n['clicks']:,}",
                    _percent(n["clicks"], n["impressions"]),
                    f"{n['likes']:,}",
                    f"{n['comments']:,}",
                    f"{n['shares']:,}",
                    f"{n['followers_gained']:,}",
                    _percent(engaged, n["impressions"]),
                    post.content_type,
                ]
            )
        return rows

    def _x_rows(self, account_id: str, through: date) -> list[list[str]]:
        rows = []
        for post in self.visible(account_id, through):
            n = {m: post.lifetime(m, through) for m in METRICS["x"]}
            engagements = n["clicks"] + n["likes"] + n["comments"] + n["shares"]
            rate = engagements / n["impressions"] if n["impressions"] else 0.0
            rows.append(
                [
                    post.item_id,
                    post.url,
                    post.text,
                    f"{post.published_at:%Y-%m-%d %H:%M} +0000",
                    f"{n['impressions']:.1f}",  # X writes impressions as 157.0
                    str(engagements),
                    f"{rate:.6f}",
                    str(n["shares"]),
                    str(n["comments"]),
                    str(n["likes"]),
                    "0",
                    str(n["clicks"]),
                    "0",
                    "0",
                    "0",
                    "0",
                    "0",
                    str(n["followers_gained"]),
                    "0",
                    "0",
                    str(n["views"]),
                    "0",
                ]
            )
        return rows


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "0.00%"
