"""A deterministic synthetic social portfolio: Instagram, Facebook Page and TikTok accounts.

The ground truth the Graph API and TikTok sandboxes serve. Every value follows from
(seed, account index, post index). Each post has final daily increments of its counters
(`daily[metric][i]` is day `publish_date + i`, in the account's time zone, the reporting
days the connectors date their reads in); the platforms only ever show lifetime
counters, so a counter read at clock C is the sum of the days before C (the day C itself
has not been counted yet, as in the YouTube portfolio). Stories live 24 hours: they are
listed and their insights served only on the day after they went up.

About a quarter of the posts repurpose a story of a YouTube portfolio when given one
(same story id, the story's title in the caption and, where the platform allows links,
its URL), so content identity has cross-platform families to find.

With `real_captions` (opt-in: the demo's captions stay as they were), a repurposed post's
caption is written the way real accounts write them (`real_caption`): the story's link
without a scheme, on its `www.`, `m.` or `amp.` host, after "link in bio" arrows or a
lead-in in another script, and the story's campaign code as a hashtag (`#nw2057`) or, on
Facebook, as the link's `utm_campaign` (`nw-2057`). `campaign_code` is its truth.

With `gone_share` (opt-in too), that share of the posts is deleted a few days after it
went up (`gone_on`): from then on no API lists or returns it (the Graph API answers error
100, subcode 33 for it), while what it had is history; `tombstones` is the truth.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.portfolio import HOSTILE_TITLES, TOPIC_EFFECTS, TOPICS, Portfolio

PLATFORMS = ("instagram", "facebook", "tiktok")
# the metrics every post has daily increments of; a platform serves the ones it knows
METRICS = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saves",
    "watch_time_s",
    "full_watches",
    "follows",
    "clicks",
)
REPURPOSE_SHARE = 0.25
# TikTok's Business API account metrics (/business/get/): the days it keeps, and how far its
# newest day runs behind the clock by default (the day before the clock is not served yet)
TIKTOK_ACCOUNT_RETENTION_DAYS = 60
TIKTOK_ACCOUNT_LAG_DAYS = 2


@dataclass(frozen=True)
class SocialAccountSpec:
    platform: str  # instagram | facebook | tiktok
    name: str
    posts: int
    timezone: str = "UTC"
    scale: float = 1.0
    business: bool = True  # TikTok: a business account also serves organic insights
    # TikTok: served as an account under 100 followers (its account metrics by day leave
    # followers_count and profile_views null)
    small: bool = False

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown social platform {self.platform!r}")


@dataclass
class SocialPost:
    post_id: str
    account_id: str
    platform: str
    published_at: datetime
    caption: str
    media_type: str  # Instagram: IMAGE | VIDEO | CAROUSEL_ALBUM; Facebook: photo | video | link
    product_type: str  # Instagram: FEED | REELS | STORY; others: FEED | VIDEO
    duration_s: int | None
    permalink: str
    story_id: str
    daily: dict[str, np.ndarray] = field(repr=False)
    children: list[str] = field(default_factory=list)  # carousel children (no insights)
    timezone: str = "UTC"  # the account's: its reporting days
    gone_on: date | None = None  # deleted on this day (the gone_share shape)

    @property
    def publish_date(self) -> date:
        return self.published_at.astimezone(ZoneInfo(self.timezone)).date()

    @property
    def is_story(self) -> bool:
        return self.product_type == "STORY"


@dataclass
class SocialAccount:
    account_id: str
    platform: str
    name: str
    username: str
    timezone: str
    business: bool
    followers_at_start: int
    posts: list[SocialPost]  # oldest first
    small: bool = False


def _digits(*parts: object, length: int) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return str(int(digest, 16))[:length]


def _media_kind(platform: str, kind: float) -> tuple[str, str]:
    """(media_type, media_product_type) of a post, from a uniform draw `kind`: Instagram's
    Reels, carousels, stories and images; Facebook's videos, photos and links; TikTok's videos."""
    if platform == "instagram":
        if kind < 0.45:
            return "VIDEO", "REELS"
        if kind < 0.60:
            return "CAROUSEL_ALBUM", "FEED"
        if kind < 0.67:
            return "IMAGE", "STORY"
        return "IMAGE", "FEED"
    if platform == "facebook":
        media_type = "video" if kind < 0.35 else "photo" if kind < 0.7 else "link"
        return media_type, "VIDEO" if media_type == "video" else "FEED"
    return "VIDEO", "VIDEO"


class SocialPortfolio:
    """Social accounts and their posts between `start` and `end`, with final daily counters."""

    # media whose insights Meta answers empty (opt-in, see with_insight_gaps: none by default)
    insight_gaps: InsightGaps | None = None

    def __init__(
        self,
        accounts: list[SocialAccountSpec],
        start: date,
        end: date,
        seed: int = 11,
        youtube: Portfolio | None = None,
        real_captions: bool = False,
        gone_share: float = 0.0,
    ) -> None:
        if end < start:
            raise ValueError("portfolio end is before its start")
        self.specs = accounts
        self.start, self.end, self.seed = start, end, seed
        self.youtube = youtube
        # the platform's corrections: post_id -> (the first clock that shows it, the metric,
        # the count it removed): spam views or likes taken off a lifetime counter
        self.corrections: dict[str, tuple[date, str, int]] = {}
        # how far behind the clock TikTok's newest account day runs: "a day or two", the
        # worst case by default (1 serves the day before the clock, as the other platforms)
        self.tiktok_account_lag_days = TIKTOK_ACCOUNT_LAG_DAYS
        self._day_sums: dict[str, tuple[date, np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()  # the sandbox's server threads share the portfolio
        self.real_captions = real_captions
        self.gone_share = gone_share

    @classmethod
    def demo(cls, youtube: Portfolio, posts: int = 150) -> SocialPortfolio:
        specs = [
            SocialAccountSpec("instagram", "northwind.news", posts, "America/New_York", 1.0),
            SocialAccountSpec("facebook", "Northwind News", posts, "America/New_York", 0.7),
            SocialAccountSpec("tiktok", "kumokitchen", posts, "Asia/Tokyo", 1.4),
        ]
        return cls(specs, youtube.start, youtube.end, youtube=youtube)

    @classmethod
    def bench(cls, end: date, days: int = 400, posts: int = 3000) -> SocialPortfolio:
        """The issue's scale: 2 Instagram accounts, 1 Facebook page, 2 TikTok accounts."""
        specs = [
            SocialAccountSpec("instagram", "northwind.news", posts, "America/New_York", 1.0),
            SocialAccountSpec("instagram", "kumo.kitchen", posts, "Asia/Tokyo", 0.6),
            SocialAccountSpec("facebook", "Northwind News", posts, "America/New_York", 0.7),
            SocialAccountSpec("tiktok", "kumokitchen", posts, "Asia/Tokyo", 1.4),
            SocialAccountSpec("tiktok", "rio.explains", posts, "America/Sao_Paulo", 1.0, False),
        ]
        return cls(specs, end - timedelta(days=days), end)

    # -- lookups ----------------------------------------------------------------------
    @cached_property
    def accounts(self) -> list[SocialAccount]:
        return [self._make_account(i, spec) for i, spec in enumerate(self.specs)]

    def by_platform(self, platform: str) -> list[SocialAccount]:
        return [a for a in self.accounts if a.platform == platform]

    def account(self, account_id: str) -> SocialAccount | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)

    @cached_property
    def posts_by_id(self) -> dict[str, SocialPost]:
        return {p.post_id: p for a in self.accounts for p in a.posts}

    def families(self) -> dict[str, str]:
        """Ground truth of content identity: post_id -> story id."""
        return {p.post_id: p.story_id for p in self.posts_by_id.values()}

    # -- what the APIs show at a given clock --------------------------------------------
    def visible_posts(self, account: SocialAccount, clock: date) -> list[SocialPost]:
        """Posts the account lists at this clock, newest first (stories: only the day after)."""
        out = [
            p
            for p in account.posts
            if p.publish_date < clock
            and (not p.is_story or (clock - p.publish_date).days == 1)
            and not self.is_gone(p, clock)
        ]
        return out[::-1]

    @staticmethod
    def counted_days(post: SocialPost, clock: date) -> int:
        return max(0, min((clock - post.publish_date).days, len(post.daily["views"])))

    def lifetime(self, post: SocialPost, clock: date) -> dict[str, int]:
        """Every counter of the post as read at `clock`: the sum of the days before it, less
        what a correction from that clock on removed."""
        n = self.counted_days(post, clock)
        life = {m: int(post.daily[m][:n].sum()) for m in METRICS}
        since, metric, removed = self.corrections.get(post.post_id, (None, None, 0))
        if since is not None and clock >= since:
            life[metric] = max(life[metric] - removed, 0)
        return life

    def followers(self, account: SocialAccount, clock: date) -> int:
        return account.followers_at_start + sum(
            int(p.daily["follows"][: self.counted_days(p, clock)].sum()) for p in account.posts
        )

    def account_day(self, account: SocialAccount, day: date) -> dict[str, int]:
        """The account's own totals for one day: every metric of its posts' days (views,
        likes, comments, shares, follows as new followers, clicks as profile visits...),
        reach as the people reached (fewer than the posts' sum), and `followers` at the
        day's end (`followers(account, day + 1)`)."""
        first, days, through = self._account_days(account)
        i = (day - first).days
        row = days[i] if 0 <= i < len(days) else np.zeros(len(METRICS), dtype=np.int64)
        totals = {m: int(v) for m, v in zip(METRICS, row, strict=True)}
        # accounts reach people more than once a day across posts: not additive
        totals["reach"] = int(totals["reach"] * 0.8)
        follows = int(through[min(i, len(days) - 1)]) if i >= 0 and len(days) else 0
        totals["followers"] = account.followers_at_start + follows
        return totals

    def _account_days(self, account: SocialAccount) -> tuple[date, np.ndarray, np.ndarray]:
        """The sum of the account's posts' days (day x metric, from its first post's day)
        and the new followers through each day: built once, read by every account_day."""
        with self._lock:
            if account.account_id not in self._day_sums:
                posts = account.posts
                first = min((p.publish_date for p in posts), default=self.start)
                span = max(((p.publish_date - first).days + len(p.daily["views"]) for p in posts),
                           default=0)  # fmt: skip
                days = np.zeros((span, len(METRICS)), dtype=np.int64)
                for post in posts:
                    at = (post.publish_date - first).days
                    for j, metric in enumerate(METRICS):
                        days[at : at + len(post.daily[metric]), j] += post.daily[metric]
                through = np.cumsum(days[:, METRICS.index("follows")])
                self._day_sums[account.account_id] = (first, days, through)
            return self._day_sums[account.account_id]

    def tiktok_account_days(self, clock: date) -> tuple[date, date]:
        """The first and last day TikTok's Business API serves account metrics for at this
        clock: it keeps 60 days, and its newest day runs `tiktok_account_lag_days` behind
        the clock (2: the day before the clock comes a day later)."""
        return (
            clock - timedelta(days=TIKTOK_ACCOUNT_RETENTION_DAYS),
            clock - timedelta(days=self.tiktok_account_lag_days),
        )

    def daily_truth(self, clock: date, start: date | None = None, end: date | None = None):
        """Every (platform, account, post, day) increment counted by `clock`, as a DataFrame."""
        import pandas as pd

        last = min(clock - timedelta(days=1), end or clock)
        rows = []
        for account in self.accounts:
            for post in account.posts:
                for i in range(self.counted_days(post, clock)):
                    day = post.publish_date + timedelta(days=i)
                    if (start and day < start) or day > last:
                        continue
                    rows.append(
                        {
                            "platform": account.platform,
                            "account_id": account.account_id,
                            "item_id": post.post_id,
                            "date": day,
                            **{m: int(post.daily[m][i]) for m in METRICS},
                        }
                    )
        return pd.DataFrame(rows)

    # -- generation -------------------------------------------------------------------
    def _make_account(self, index: int, spec: SocialAccountSpec) -> SocialAccount:
        if spec.platform == "instagram":
            account_id = "178414" + _digits(self.seed, "ig", index, length=11)
        elif spec.platform == "facebook":
            account_id = "1" + _digits(self.seed, "fb", index, length=14)
        else:
            account_id = "tt_" + _digits(self.seed, "tt", index, length=16)
        rng = np.random.default_rng([self.seed, index])
        span_s = int((self.end - self.start).days * 86400) + 86399
        offsets = np.sort(rng.integers(0, span_s, size=spec.posts))
        posts = [
            self._make_post(index, j, account_id, spec, int(offsets[j])) for j in range(spec.posts)
        ]
        username = spec.name.lower().replace(" ", "")
        return SocialAccount(
            account_id,
            spec.platform,
            spec.name,
            username,
            spec.timezone,
            spec.business,
            int(5_000 * spec.scale),
            posts,
            spec.small,
        )

    def _youtube_story(self, rng: np.random.Generator, published: datetime):
        """A YouTube video published up to ten days before, whose story this post retells."""
        if self.youtube is None or rng.random() >= REPURPOSE_SHARE:
            return None
        lo, hi = published - timedelta(days=10), published
        pool = [v for v in self.youtube.videos_by_id.values() if lo <= v.published_at < hi]
        return pool[int(rng.integers(0, len(pool)))] if pool else None

    def _make_post(
        self, ai: int, pi: int, account_id: str, spec: SocialAccountSpec, offset_s: int
    ) -> SocialPost:
        # every draw from rng in a fixed order: the portfolio is the same on every run
        rng = np.random.default_rng([self.seed, ai, pi])
        published = datetime.combine(self.start, datetime.min.time(), UTC) + timedelta(
            seconds=offset_s
        )
        platform = spec.platform
        media_type, product_type = _media_kind(platform, rng.random())
        is_video = media_type in ("VIDEO", "video")
        duration = int(rng.integers(8, 90)) if is_video else None
        topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
        number = int(rng.integers(100, 1000))
        source = self._youtube_story(rng, published)
        if source is not None:
            story_id, title = source.story_id, source.title.removesuffix(" #shorts")
            link = source.description.split("Full story: ", 1)[-1].split("\n", 1)[0]
            caption = f"{title}\nFull story: {link}" if platform == "facebook" else title
            topic = next((t for t in TOPICS if t in title.lower()), topic)
            if self.real_captions:
                caption = self.real_caption(platform, source.story_id, title, ai, pi)
        else:
            story_id = f"social-{platform}-{ai}-{pi}"
            hostile = pi < len(HOSTILE_TITLES) and ai == 0
            caption = (
                HOSTILE_TITLES[pi]
                if hostile
                else f"{topic.capitalize()}: what changed this week, part {number} #{topic.replace(' ', '')}"
            )
        post_id, permalink, children = self._post_ids(rng, pi, account_id, spec, media_type)
        local = published.astimezone(ZoneInfo(spec.timezone))
        days = 1 if product_type == "STORY" else max(1, (self.end - local.date()).days + 1)
        effect = TOPIC_EFFECTS.get(topic, 1.0)
        daily = self._daily(rng, spec, local, days, duration, is_video, effect)
        post = SocialPost(
            post_id,
            account_id,
            platform,
            published,
            caption,
            media_type,
            product_type,
            duration,
            permalink,
            story_id,
            daily,
            children,
            spec.timezone,
        )
        post.gone_on = self._gone_on(ai, pi, post)
        return post

    def _post_ids(
        self,
        rng: np.random.Generator,
        pi: int,
        account_id: str,
        spec: SocialAccountSpec,
        media_type: str,
    ) -> tuple[str, str, list[str]]:
        """A post's id and permalink in its platform's form, and a carousel's children."""
        children: list[str] = []
        if spec.platform == "instagram":
            post_id = "179" + _digits(self.seed, account_id, pi, length=14)
            permalink = f"https://www.instagram.com/p/{_digits(post_id, length=11)}/"
            if media_type == "CAROUSEL_ALBUM":
                children = [
                    "179" + _digits(self.seed, post_id, c, length=14)
                    for c in range(int(rng.integers(2, 6)))
                ]
        elif spec.platform == "facebook":
            post_id = f"{account_id}_{_digits(self.seed, account_id, pi, length=15)}"
            permalink = f"https://www.facebook.com/{account_id}/posts/{post_id.split('_')[1]}"
        else:
            post_id = "7" + _digits(self.seed, account_id, pi, length=18)
            permalink = f"https://www.tiktok.com/@{spec.name}/video/{post_id}"
        return post_id, permalink, children

    # -- posts deleted after they went up (opt-in) -----------------------------------------
    def _gone_on(self, ai: int, pi: int, post: SocialPost) -> date | None:
        """The day a post is deleted (its own random stream: the others stay as they were)."""
        if not self.gone_share or post.is_story:
            return None
        rng = np.random.default_rng([self.seed, ai, pi, 8])
        if rng.random() >= self.gone_share:
            return None
        return post.publish_date + timedelta(days=int(rng.integers(2, 9)))

    @staticmethod
    def is_gone(post: SocialPost, clock: date) -> bool:
        """Deleted by this clock: no longer listed, refused by id."""
        return post.gone_on is not None and clock > post.gone_on

    def tombstones(self, clock: date) -> dict[str, str]:
        """Ground truth of the posts deleted by the clock, after they went up: post_id ->
        'deleted'."""
        return {
            p.post_id: "deleted"
            for p in self.posts_by_id.values()
            if self.is_gone(p, clock) and p.publish_date < clock
        }

    # -- captions as real accounts write them (opt-in) -----------------------------------
    @staticmethod
    def campaign_code(story_id: str) -> str:
        """A story's campaign code, letters and digits as campaign codes are: `nw2057` for
        story 2-57 (on Facebook's links written `nw-2057`)."""
        _, ci, vi = story_id.split("-")
        return f"nw{int(ci)}{int(vi):03d}"

    def real_caption(self, platform: str, story_id: str, title: str, ai: int, pi: int) -> str:
        """A repurposed post's caption with the story's link written without a scheme (any of
        the site's hosts) and its campaign code, in one of the shapes captions take."""
        assert self.youtube is not None
        story = self.youtube.stories_by_id[story_id]
        rng = np.random.default_rng([self.seed, ai, pi, 7])  # its own stream: metrics stay
        path = story.url.split("://", 1)[1].split("/", 1)[1]
        host = ("northwind.example", "www.northwind.example", "m.northwind.example")[
            int(rng.integers(0, 3))
        ]
        link = f"{host}/{path}"
        if rng.random() < 0.25:
            link = f"amp.northwind.example/{path}/amp/"
        code = self.campaign_code(story_id)
        if platform == "facebook":
            hyphenated = f"{code[:2]}-{code[2:]}"
            return f"{title}\nFull story: {link}?utm_source=facebook&utm_campaign={hyphenated}"
        shape = int(rng.integers(0, 4))
        if shape == 0:
            return f"{title}\nFull story: {link}"
        if shape == 1:
            return f"{title}\n🔗 link in bio 👉{link}"
        if shape == 2:
            lead = ("Полная история", "全文はこちら→", "القصة الكاملة:")[int(rng.integers(0, 3))]
            return f"{title}\n{lead} {link} #{code}"
        return f"{title} #{code}"

    @staticmethod
    def _daily(
        rng: np.random.Generator,
        spec: SocialAccountSpec,
        published: datetime,
        days: int,
        duration: int | None,
        is_video: bool,
        effect: float,
    ) -> dict[str, np.ndarray]:
        base = {"instagram": 3_000, "facebook": 1_500, "tiktok": 9_000}[spec.platform]
        lifetime = rng.lognormal(np.log(base * spec.scale * effect), 1.0)
        if rng.random() < 0.02:  # a post that takes off
            lifetime *= rng.uniform(10, 30)
        tau = rng.uniform(0.8, 4.0)
        evergreen = rng.uniform(0.02, 0.25)
        age = np.arange(days, dtype=float)
        shape = (1 - evergreen) * np.exp(-age / tau) / tau + evergreen * np.exp(-age / 300) / 300
        shape[0] *= max(1 - (published.hour * 3600 + published.minute * 60) / 86400, 0.05)
        weekday = (published.weekday() + age.astype(int)) % 7
        shape *= np.array([0.97, 0.95, 0.96, 1.0, 1.04, 1.1, 1.08])[weekday]
        views = rng.poisson(lifetime * shape).astype(np.int64)

        def draws(n: np.ndarray, p: float) -> np.ndarray:
            return rng.binomial(n, p).astype(np.int64)

        reach = draws(views, 0.72)
        watched_s = (duration or 0) * float(np.clip(rng.normal(0.55, 0.15), 0.1, 1.4))
        return {
            "views": views,
            "reach": reach,
            "likes": draws(views, 0.045),
            "comments": draws(views, 0.004),
            "shares": draws(views, 0.006),
            "saves": draws(views, 0.008),
            "watch_time_s": np.round(views * watched_s).astype(np.int64)
            if is_video
            else np.zeros(days, dtype=np.int64),
            "full_watches": draws(views, 0.3) if is_video else np.zeros(days, dtype=np.int64),
            "follows": draws(views, 0.0015),
            "clicks": draws(views, 0.01),
        }


# -- media without insights (opt-in) ---------------------------------------------------------
@dataclass(frozen=True)
class InsightGaps:
    """Media whose insights Meta answers with `{"data": []}`: no value, not 0. Real accounts
    have them: posts from before the account became a business or creator account, some
    carousel albums, stories after they expire (their insights live 24 hours) and some
    Facebook post types (link posts here). The Graph sandbox serves the empty answer for
    them; `empty()` is the truth tests compare with."""

    business_since: dict[str, date]  # account id -> the day it became a business account
    carousel_every: int = 2  # every other carousel album (by id) has none
    facebook_types: tuple[str, ...] = ("link",)

    def empty(self, post: SocialPost, clock: date) -> bool:
        """Does the API answer this post's insights, asked at `clock`, with no data?"""
        since = self.business_since.get(post.account_id)
        if since is not None and post.publish_date < since:
            return True
        if post.media_type == "CAROUSEL_ALBUM" and int(post.post_id) % self.carousel_every == 0:
            return True
        if post.is_story and (clock - post.publish_date).days > 1:
            return True
        return post.platform == "facebook" and post.media_type in self.facebook_types


def with_insight_gaps(portfolio: SocialPortfolio, business_after_days: int = 10) -> SocialPortfolio:
    """Opt in to the gaps of real accounts: each Instagram account became a business account
    `business_after_days` after the portfolio starts (its earlier posts have no insights),
    and the other gaps of InsightGaps. The demo does not opt in."""
    since = portfolio.start + timedelta(days=business_after_days)
    portfolio.insight_gaps = InsightGaps(
        {a.account_id: since for a in portfolio.by_platform("instagram")}
    )
    return portfolio
