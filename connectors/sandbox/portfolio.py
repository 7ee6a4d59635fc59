"""A deterministic synthetic YouTube portfolio: the ground truth the sandbox serves.

Every value follows from (seed, channel index, video index): the same arguments give the
same portfolio on any machine. Daily views follow a launch spike that decays plus an
evergreen tail, with weekly seasonality, Poisson noise and a few viral outliers. Titles
come in several scripts, and a few carry HTML and SQL text, because real titles do.

The sandbox has a clock. Analytics data for day X is served from clock X + lag on; the
newest `provisional_days` served days are under-counted and restated upward when the
clock moves on, as YouTube does while it finalises a day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

import numpy as np

TITLE_WORDS = {
    "en": ["How we fixed", "Inside the", "Why everyone is talking about", "The truth about"],
    "es": ["Cómo arreglamos", "Dentro de", "La verdad sobre"],
    "ja": ["私たちが直した", "舞台裏:", "本当の話:"],
    "ar": ["كيف أصلحنا", "داخل", "الحقيقة حول"],
    "ru": ["Как мы починили", "Внутри", "Правда о"],
    "hi": ["हमने कैसे ठीक किया", "अंदर की बात:", "सच्चाई:"],
    "ko": ["우리가 고친 방법", "내부 이야기:", "진실:"],
}
TOPICS = [
    "the city budget",
    "electric buses",
    "coffee prices",
    "the night train",
    "river cleanup",
    "school lunches",
    "local football",
    "housing costs",
    "street food",
    "solar farms",
]
# Platform text is data. These land in titles so every layer proves it treats them as such.
HOSTILE_TITLES = [
    '<script>alert("pwned")</script> Budget special',
    "Robert'); DROP TABLE posts;-- explains housing",
    '<img src=x onerror=alert(1)> "quoted" & <b>bold</b>',
]
TRAFFIC_SOURCES = [
    "YT_SEARCH",
    "RELATED_VIDEO",
    "SUBSCRIBER",
    "EXT_URL",
    "SHORTS",
    "PLAYLIST",
    "NOTIFICATION",
    "YT_CHANNEL",
    "NO_LINK_OTHER",
]
METRICS = [
    "views",
    "engagedViews",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "averageViewPercentage",
    "likes",
    "dislikes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
]
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _token(*parts: object, length: int) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return "".join(_ID_ALPHABET[b % 64] for b in digest[:length])


@dataclass(frozen=True)
class ChannelSpec:
    title: str
    videos: int
    timezone: str = "UTC"
    scale: float = 1.0  # typical lifetime views of a video, relative to the portfolio


@dataclass
class Video:
    video_id: str
    channel_id: str
    title: str
    description: str
    tags: list[str]
    published_at: datetime
    duration_s: int
    is_short: bool
    # daily[i] is the final view count of day published.date() + i
    daily: dict[str, np.ndarray] = field(repr=False)
    # the share of views each traffic source brings (sums to 1)
    traffic_mix: np.ndarray = field(repr=False)

    @property
    def publish_date(self) -> date:
        return self.published_at.date()


@dataclass
class Channel:
    channel_id: str
    title: str
    timezone: str
    videos: list[Video]
    subscribers_at_start: int

    @property
    def uploads_playlist_id(self) -> str:
        return "UU" + self.channel_id[2:]


def _iso_duration(seconds: int) -> str:
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return (
        "PT"
        + (f"{h}H" if h else "")
        + (f"{m}M" if m else "")
        + (f"{s}S" if s or not (h or m) else "")
    )


class Portfolio:
    """Channels and videos between `start` and `end`, with final daily metrics."""

    lag_days = 2
    provisional_days = 1
    provisional_factor = 0.9

    def __init__(
        self,
        channels: list[ChannelSpec],
        start: date,
        end: date,
        seed: int = 7,
    ) -> None:
        if end < start:
            raise ValueError("portfolio end is before its start")
        self.specs = channels
        self.start = start
        self.end = end
        self.seed = seed

    @classmethod
    def demo(cls, end: date, days: int = 150, videos_per_channel: int = 120) -> Portfolio:
        specs = [
            ChannelSpec("Northwind News", videos_per_channel, "America/New_York", 1.0),
            ChannelSpec("Kumo Kitchen 雲", videos_per_channel, "Asia/Tokyo", 0.6),
            ChannelSpec("Rio Explains", videos_per_channel, "America/Sao_Paulo", 1.6),
        ]
        return cls(specs, start=end - timedelta(days=days), end=end)

    @cached_property
    def channels(self) -> list[Channel]:
        return [self._make_channel(i, spec) for i, spec in enumerate(self.specs)]

    def channel(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.channel_id == channel_id), None)

    @cached_property
    def videos_by_id(self) -> dict[str, Video]:
        return {v.video_id: v for c in self.channels for v in c.videos}

    # -- generation -------------------------------------------------------------------
    def _make_channel(self, index: int, spec: ChannelSpec) -> Channel:
        channel_id = "UC" + _token(self.seed, "channel", index, length=22)
        rng = np.random.default_rng([self.seed, index])
        span_s = int((self.end - self.start).days * 86400) + 86399
        offsets = np.sort(rng.integers(0, span_s, size=spec.videos))
        videos = [
            self._make_video(index, j, channel_id, spec, int(offsets[j]))
            for j in range(spec.videos)
        ]
        return Channel(channel_id, spec.title, spec.timezone, videos, int(20_000 * spec.scale))

    def _make_video(
        self, ci: int, vi: int, channel_id: str, spec: ChannelSpec, offset_s: int
    ) -> Video:
        rng = np.random.default_rng([self.seed, ci, vi, 1])
        published = datetime.combine(self.start, datetime.min.time(), UTC) + timedelta(
            seconds=offset_s
        )
        is_short = bool(rng.random() < 0.35)
        duration = int(rng.integers(12, 60)) if is_short else int(rng.integers(240, 2400))
        lang = list(TITLE_WORDS)[int(rng.integers(0, len(TITLE_WORDS)))]
        words = TITLE_WORDS[lang]
        topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
        title = f"{words[int(rng.integers(0, len(words)))]} {topic}"
        if vi < len(HOSTILE_TITLES) and ci == 0:
            title = HOSTILE_TITLES[vi]
        if is_short:
            title += " #shorts"
        slug = topic.replace(" ", "-")
        description = (
            f"Full story: https://northwind.example/stories/{slug}-{vi}?utm_source=youtube"
            f"&utm_campaign=c{ci}\nFollow us for more."
        )
        tags = [topic, lang] + (["shorts"] if is_short else [])
        video_id = _token(self.seed, "video", ci, vi, length=11)
        days = (self.end - published.date()).days + 1
        daily = self._daily_metrics(rng, spec, published, days, duration, is_short)
        weights = np.array([3, 4, 3, 1, 6 if is_short else 0.2, 1, 1, 1, 1], dtype=float)
        mix = np.random.default_rng([self.seed, ci, vi, 2]).dirichlet(weights * 2)
        return Video(
            video_id,
            channel_id,
            title,
            description,
            tags,
            published,
            duration,
            is_short,
            daily,
            mix,
        )

    @staticmethod
    def _daily_metrics(
        rng: np.random.Generator,
        spec: ChannelSpec,
        published: datetime,
        days: int,
        duration: int,
        is_short: bool,
    ) -> dict[str, np.ndarray]:
        lifetime = rng.lognormal(
            mean=np.log(8_000 * spec.scale * (2.5 if is_short else 1.0)), sigma=0.9
        )
        if rng.random() < 0.015:  # a viral outlier
            lifetime *= rng.uniform(15, 40)
        tau = rng.uniform(1.5, 6.0) if is_short else rng.uniform(3.0, 14.0)
        evergreen = rng.uniform(0.05, 0.45)
        age = np.arange(days, dtype=float)
        spike = np.exp(-age / tau) / tau
        tail = np.exp(-age / 400.0) / 400.0
        shape = (1 - evergreen) * spike + evergreen * tail
        weekday = (published.weekday() + age.astype(int)) % 7
        season = np.array([0.95, 0.93, 0.96, 1.0, 1.05, 1.12, 1.1])[weekday]
        # first day is partial: the video went up at some hour of it
        first_share = 1 - (published.hour * 3600 + published.minute * 60) / 86400
        shape[0] *= max(first_share, 0.05)
        views = rng.poisson(lifetime * shape * season).astype(np.int64)
        avg_pct = float(np.clip(rng.normal(85 if is_short else 42, 8), 5, 160 if is_short else 100))
        view_s = duration * avg_pct / 100
        p_engaged = 0.6 if is_short else 0.9

        def draws(p: float) -> np.ndarray:
            return rng.binomial(views, p).astype(np.int64)

        return {
            "views": views,
            "engagedViews": draws(p_engaged),
            "estimatedMinutesWatched": np.round(views * view_s / 60).astype(np.int64),
            "averageViewDuration": np.where(views > 0, round(view_s), 0).astype(np.int64),
            "averageViewPercentage": np.where(views > 0, round(avg_pct, 2), 0.0),
            "likes": draws(0.04 if is_short else 0.03),
            "dislikes": draws(0.001),
            "comments": draws(0.002 if is_short else 0.004),
            "shares": draws(0.003),
            "subscribersGained": draws(0.002),
            "subscribersLost": draws(0.0003),
        }

    # -- what the API shows at a given clock --------------------------------------------
    def last_available(self, clock: date) -> date:
        """The newest day whose analytics are served at this clock."""
        return min(clock - timedelta(days=self.lag_days), self.end)

    def served_metrics(self, video: Video, day: date, clock: date) -> dict[str, float] | None:
        """The row of metrics served for (video, day) at `clock`, or None if not served."""
        i = (day - video.publish_date).days
        if i < 0 or day > self.last_available(clock) or i >= len(video.daily["views"]):
            return None
        row = {name: video.daily[name][i].item() for name in METRICS}
        if (clock - timedelta(days=self.lag_days) - day).days < self.provisional_days:
            for name in (
                "views",
                "engagedViews",
                "estimatedMinutesWatched",
                "likes",
                "comments",
                "shares",
                "subscribersGained",
            ):
                row[name] = int(row[name] * self.provisional_factor)
        return row

    @staticmethod
    def split_by_source(video: Video, views: int) -> dict[str, int]:
        """Views of one day split over traffic sources (largest remainder: sums exactly)."""
        exact = video.traffic_mix * views
        counts = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - counts), kind="stable")[: views - counts.sum()]:
            counts[i] += 1
        return {src: int(n) for src, n in zip(TRAFFIC_SOURCES, counts, strict=True) if n}

    def visible_videos(self, channel: Channel, clock: date) -> list[Video]:
        """Uploads the channel shows at this clock (published before the clock's day)."""
        return [v for v in channel.videos if v.publish_date < clock]

    def lifetime_stats(self, video: Video, clock: date) -> dict[str, int]:
        """Data API `statistics`: real-time lifetime counters (all final days before the clock)."""
        n = max(0, min((clock - video.publish_date).days, len(video.daily["views"])))
        return {
            "viewCount": int(video.daily["views"][:n].sum()),
            "likeCount": int(video.daily["likes"][:n].sum()),
            "commentCount": int(video.daily["comments"][:n].sum()),
        }

    def channel_subscribers(self, channel: Channel, clock: date) -> int:
        total = channel.subscribers_at_start
        for v in channel.videos:
            n = max(0, min((clock - v.publish_date).days, len(v.daily["views"])))
            total += int(
                v.daily["subscribersGained"][:n].sum() - v.daily["subscribersLost"][:n].sum()
            )
        return total

    def content_daily_truth(self, clock: date, start: date | None = None, end: date | None = None):
        """Every served (channel, video, day) row at `clock`, as a DataFrame: for test comparisons."""
        import pandas as pd

        last = self.last_available(clock)
        end = min(end or last, last)
        rows = []
        for channel in self.channels:
            for video in self.visible_videos(channel, clock):
                first = max(video.publish_date, start or video.publish_date)
                day = first
                while day <= end:
                    metrics = self.served_metrics(video, day, clock)
                    if metrics is not None:
                        rows.append(
                            {
                                "account_id": channel.channel_id,
                                "item_id": video.video_id,
                                "date": day,
                                **metrics,
                            }
                        )
                    day += timedelta(days=1)
        return pd.DataFrame(rows)
