"""A deterministic synthetic YouTube portfolio: the ground truth the sandbox serves.

Every value follows from (seed, channel index, video index): the same arguments give the
same portfolio on any machine. Daily views follow a launch spike that decays plus an
evergreen tail, with weekly seasonality, Poisson noise and a few viral outliers. Titles
come in several scripts, and a few carry HTML and SQL text, because real titles do.

Every video tells a story with a distinctive subject (a person, a place, a number). About a fifth
of the videos repurpose a story another channel published up to ten days before: some
carry the same story link (other utm parameters, a trailing slash or an AMP variant), the
others no link but the original's title, transliterated to Latin letters when it was
Russian. `Portfolio.families()` is the ground truth for content identity.

The sandbox has a clock. Analytics data for day X is served from clock X + lag on; the
newest `provisional_days` served days are under-counted and restated upward when the
clock moves on, as YouTube does while it finalises a day.

On request (`streams`, `gone`: off by default, so the demo's numbers stay) a channel also
has the videos real channels have (`stream_state`, `gone_on`): live streams (on air the
day after they start: `liveBroadcastContent: live`, duration `P0D`; later a recording with
its length and `liveStreamingDetails`), scheduled streams listed three days before they
air (`upcoming`, `P0D`), and videos that go private or are deleted a week after they went
up (a private one stays listed with `status.privacyStatus: private`; a deleted one is no
longer listed nor returned by videos.list; Analytics keeps both's days).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
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
# What audiences want: a known winner and a known loser among the topics, so the segment
# effects (and the report's findings) have a ground truth to find.
TOPIC_EFFECTS = {"electric buses": 2.5, "coffee prices": 0.4}
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
# Russian titles are wholly Cyrillic, so that a transliterated repost is a real test.
TOPICS_RU = {
    "the city budget": "городской бюджет",
    "electric buses": "электробусы",
    "coffee prices": "цены на кофе",
    "the night train": "ночной поезд",
    "river cleanup": "очистка реки",
    "school lunches": "школьные обеды",
    "local football": "местный футбол",
    "housing costs": "цены на жильё",
    "street food": "уличная еда",
    "solar farms": "солнечные электростанции",
}
# The subject that makes a story distinctive: a place (Latin, Cyrillic) and a number.
PLACES = [
    ("Ashford", "Эшфорд"),
    ("Belmont", "Бельмонт"),
    ("Carlow", "Карлоу"),
    ("Dunmore", "Данмор"),
    ("Elmira", "Эльмира"),
    ("Fairhaven", "Фэрхейвен"),
    ("Glenrock", "Гленрок"),
    ("Harrow", "Хэрроу"),
    ("Ivanovo", "Иваново"),
    ("Jasper", "Джаспер"),
    ("Kirov", "Киров"),
    ("Lomond", "Ломонд"),
    ("Murom", "Муром"),
    ("Norwich", "Норидж"),
    ("Oban", "Обан"),
    ("Penza", "Пенза"),
    ("Quarry Bay", "Куорри-Бэй"),
    ("Rostov", "Ростов"),
    ("Salford", "Солфорд"),
    ("Tver", "Тверь"),
    ("Uglich", "Углич"),
    ("Vyborg", "Выборг"),
    ("Whitby", "Уитби"),
    ("Yelets", "Елец"),
    ("Zaraysk", "Зарайск"),
    ("Arles", "Арль"),
    ("Bergamo", "Бергамо"),
    ("Coimbra", "Коимбра"),
    ("Dubrovnik", "Дубровник"),
    ("Esbjerg", "Эсбьерг"),
]
# ... and a person in it.
PEOPLE = [
    ("Novak", "Новак"),
    ("Petrova", "Петрова"),
    ("Okafor", "Окафор"),
    ("Silva", "Силва"),
    ("Tanaka", "Танака"),
    ("Haddad", "Хаддад"),
    ("Kowalski", "Ковальски"),
    ("Moreau", "Моро"),
    ("Lindqvist", "Линдквист"),
    ("Brennan", "Бреннан"),
    ("Sokolov", "Соколов"),
    ("Yilmaz", "Йылмаз"),
    ("Mensah", "Менса"),
    ("Ferreira", "Феррейра"),
    ("Nakamura", "Накамура"),
    ("Rahman", "Рахман"),
    ("Volkova", "Волкова"),
    ("Schmidt", "Шмидт"),
    ("O'Neill", "О'Нил"),
    ("Castillo", "Кастильо"),
    ("Dubois", "Дюбуа"),
    ("Ivanenko", "Иваненко"),
    ("Kuznetsov", "Кузнецов"),
    ("Larsen", "Ларсен"),
    ("Mwangi", "Мванги"),
    ("Popescu", "Попеску"),
    ("Quinn", "Куинн"),
    ("Romano", "Романо"),
    ("Takahashi", "Такахаси"),
    ("Zhukova", "Жукова"),
]
# How a person writes Russian in Latin letters (ICAO passports), not how the pipeline does.
_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch ie y _ e iu ia".split(),
        strict=True,
    )
)
REPURPOSE_SHARE = 0.2  # share of videos that repurpose another channel's story
REPURPOSE_DAYS = 10  # ... first published at most this many days before
# Story-link variants a repost carries; every one is the same story once normalised.
LINK_VARIANTS = [
    "{url}?utm_source=shorts&utm_medium=social&utm_campaign=r{ci}",
    "{url}/?utm_source=youtube&utm_content=repost",
    "{url}.amp?utm_campaign=c{ci}",
    "{url}/amp/",
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


def transliterate(text: str) -> str:
    """Russian text in Latin letters, as an editor reposting it might write it."""
    out = []
    for ch in text:
        latin = _LATIN.get(ch.lower())
        if latin is None:
            out.append(ch)
        elif latin != "_":
            out.append(latin.capitalize() if ch.isupper() else latin)
    return "".join(out)


@dataclass(frozen=True)
class Story:
    """What a video is about; a repurposed video shares its story with the original."""

    story_id: str
    topic: str
    person: int  # index into PEOPLE
    place: int  # index into PLACES
    number: int
    url: str  # the story's page on the publisher's site

    def title(self, lang: str, prefix: str) -> str:
        if lang == "ru":
            topic, person, place = (
                TOPICS_RU[self.topic],
                *(names[i][1] for names, i in ((PEOPLE, self.person), (PLACES, self.place))),
            )
        else:
            topic = self.topic.removeprefix("the ") if prefix.endswith(" the") else self.topic
            person, place = PEOPLE[self.person][0], PLACES[self.place][0]
        return f"{prefix} {topic} — {person}, {place}, {self.number}"


@dataclass(frozen=True)
class _Head:
    """The first draws of a video's generator, in the order they have always been made."""

    is_short: bool
    duration: int
    lang: str
    topic: str
    prefix: str

    @classmethod
    def draw(cls, rng: np.random.Generator) -> _Head:
        is_short = bool(rng.random() < 0.35)
        duration = int(rng.integers(12, 60)) if is_short else int(rng.integers(240, 2400))
        lang = list(TITLE_WORDS)[int(rng.integers(0, len(TITLE_WORDS)))]
        words = TITLE_WORDS[lang]
        topic = TOPICS[int(rng.integers(0, len(TOPICS)))]
        prefix = words[int(rng.integers(0, len(words)))]
        return cls(is_short, duration, lang, topic, prefix)


@dataclass(frozen=True)
class _Plan:
    """A video's story and how it tells it: its title (before " #shorts") and description."""

    story: Story
    title: str
    description: str
    lang: str


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
    # the story it tells: videos with the same story_id are one content family
    story_id: str = ""
    # age in days -> extra views that day from an outside link (EXT_URL): an older video
    # resurfacing, the anomaly the models must find and attribute
    resurfacing: dict[int, int] = field(default_factory=dict)
    # the shapes a portfolio serves on request (Portfolio streams / gone)
    stream: str | None = None  # "live" (aired as a live stream) or "scheduled" (listed first)
    gone: str | None = None  # "private" or "deleted", from gone_on
    gone_on: date | None = None

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
        streams: bool = False,
        gone: bool = False,
    ) -> None:
        if end < start:
            raise ValueError("portfolio end is before its start")
        self.specs = channels
        self.start = start
        self.end = end
        self.seed = seed
        self.streams = streams  # live and scheduled streams among the videos
        self.gone = gone  # videos that go private or are deleted

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

    def families(self) -> dict[str, str]:
        """Ground truth of content identity: video_id -> story id."""
        return {v.video_id: v.story_id for c in self.channels for v in c.videos}

    @cached_property
    def stories_by_id(self) -> dict[str, Story]:
        """Every story the portfolio tells (its URL, topic, subject), by story id."""
        return {plan.story.story_id: plan.story for plan in self._plans.values()}

    # -- generation -------------------------------------------------------------------
    def _offsets(self, index: int, spec: ChannelSpec) -> np.ndarray:
        """Publish times of a channel's videos, in seconds after the start (sorted)."""
        rng = np.random.default_rng([self.seed, index])
        span_s = int((self.end - self.start).days * 86400) + 86399
        return np.sort(rng.integers(0, span_s, size=spec.videos))

    @cached_property
    def _plans(self) -> dict[tuple[int, int], _Plan]:
        """Every video's story, decided in publish order across the portfolio: a repost
        needs the original it repurposes (on another channel, at most REPURPOSE_DAYS
        before; one repost of a story per channel)."""
        offsets = [self._offsets(ci, spec) for ci, spec in enumerate(self.specs)]
        order = sorted(
            (int(t), ci, vi) for ci, offs in enumerate(offsets) for vi, t in enumerate(offs)
        )
        plans: dict[tuple[int, int], _Plan] = {}
        # per channel, its original stories so far: publish times (ascending) and indices
        original_times: list[list[int]] = [[] for _ in self.specs]
        original_videos: list[list[int]] = [[] for _ in self.specs]
        told: set[tuple[str, int]] = set()  # (story_id, channel) already told
        for t, ci, vi in order:
            head = _Head.draw(np.random.default_rng([self.seed, ci, vi, 1]))
            rng = np.random.default_rng([self.seed, ci, vi, 3])
            place, number = int(rng.integers(0, len(PLACES))), int(rng.integers(100, 1000))
            person = int(rng.integers(0, len(PEOPLE)))
            repost, by_link, pick = rng.random() < REPURPOSE_SHARE, rng.random() < 0.5, rng.random()
            variant = LINK_VARIANTS[int(rng.integers(0, len(LINK_VARIANTS)))]
            hostile = ci == 0 and vi < len(HOSTILE_TITLES)
            sources = [
                plans[(cj, vj)]
                for cj, times in enumerate(original_times)
                if cj != ci
                for vj in original_videos[cj][bisect_left(times, t - REPURPOSE_DAYS * 86400) :]
                if (plans[(cj, vj)].story.story_id, ci) not in told
            ]
            if repost and sources and not hostile:
                source = sources[int(pick * len(sources))]
                story = source.story
                # Channel 0 is the publisher's own: its descriptions always link the story.
                if by_link or ci == 0:
                    title = story.title(head.lang, head.prefix)
                    link = variant.format(url=story.url, ci=ci)
                    description = f"Full story: {link}\nFollow us for more."
                    lang = head.lang
                else:
                    title = transliterate(source.title) if source.lang == "ru" else source.title
                    description = "As seen on our partner channel.\nFollow us for more."
                    lang = source.lang
            else:
                slug = f"{head.topic.replace(' ', '-')}-{ci}-{vi}"
                story = Story(
                    f"story-{ci}-{vi}",
                    head.topic,
                    person,
                    place,
                    number,
                    f"https://northwind.example/stories/{slug}",
                )
                title = HOSTILE_TITLES[vi] if hostile else story.title(head.lang, head.prefix)
                description = (
                    f"Full story: {story.url}?utm_source=youtube&utm_campaign=c{ci}"
                    "\nFollow us for more."
                )
                lang = head.lang
                original_times[ci].append(t)
                original_videos[ci].append(vi)
            told.add((story.story_id, ci))
            plans[(ci, vi)] = _Plan(story, title, description, lang)
        return plans

    def _make_channel(self, index: int, spec: ChannelSpec) -> Channel:
        channel_id = "UC" + _token(self.seed, "channel", index, length=22)
        offsets = self._offsets(index, spec)
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
        head = _Head.draw(rng)  # the same draws as ever, so metrics stay as they were
        is_short, duration = head.is_short, head.duration
        plan = self._plans[(ci, vi)]
        title = plan.title + (" #shorts" if is_short else "")
        description = plan.description
        tags = [plan.story.topic, plan.lang] + (["shorts"] if is_short else [])
        video_id = _token(self.seed, "video", ci, vi, length=11)
        days = (self.end - published.date()).days + 1
        daily = self._daily_metrics(
            rng, spec, published, days, duration, is_short, TOPIC_EFFECTS.get(plan.story.topic, 1.0)
        )
        weights = np.array([3, 4, 3, 1, 6 if is_short else 0.2, 1, 1, 1, 1], dtype=float)
        mix = np.random.default_rng([self.seed, ci, vi, 2]).dirichlet(weights * 2)
        resurfacing = self._resurface(np.random.default_rng([self.seed, ci, vi, 3]), daily)
        video = Video(
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
            plan.story.story_id,
            resurfacing,
        )
        self._real_world_shape(video, ci, vi)
        return video

    # -- the real-world shapes (opt-in) ----------------------------------------------------
    STREAM_EVERY, GONE_EVERY = 7, 9  # every 7th video a stream, every 9th one goes
    SCHEDULED_DAYS = 3  # a scheduled stream is listed this many days before it airs
    GONE_AFTER_DAYS = 7

    def _real_world_shape(self, video: Video, ci: int, vi: int) -> None:
        """Which of the channel's videos are streams, and which go private or are deleted
        (by index, no random draw: the other videos stay as they were)."""
        if self.streams and not video.is_short and vi % self.STREAM_EVERY == 3:
            video.stream = "scheduled" if vi % (2 * self.STREAM_EVERY) == 3 else "live"
        if self.gone and video.stream is None and vi % self.GONE_EVERY == 4:
            video.gone = "private" if ci % 2 else "deleted"
            video.gone_on = video.publish_date + timedelta(days=self.GONE_AFTER_DAYS)

    def stream_state(self, video: Video, clock: date) -> str:
        """liveBroadcastContent at the clock: upcoming before a stream airs, live the day
        after it started (its viewers still on), none otherwise."""
        if video.stream is None:
            return "none"
        age = (clock - video.publish_date).days
        if age <= 0:
            return "upcoming"
        return "live" if age == 1 else "none"

    def listed(self, video: Video, clock: date) -> bool:
        """In the channel's uploads and videos.list at the clock: published (or a scheduled
        stream within its listing days), and not deleted."""
        if video.gone == "deleted" and video.gone_on is not None and clock > video.gone_on:
            return False
        lead = self.SCHEDULED_DAYS if video.stream == "scheduled" else 0
        return (video.publish_date - clock).days < lead

    def is_private(self, video: Video, clock: date) -> bool:
        return video.gone == "private" and video.gone_on is not None and clock > video.gone_on

    def tombstones(self, clock: date) -> dict[str, str]:
        """Ground truth of gone videos at the clock: video_id -> private | deleted."""
        return {
            v.video_id: v.gone
            for v in self.videos_by_id.values()
            if v.gone and v.gone_on is not None and clock > v.gone_on and v.publish_date < clock
        }

    @staticmethod
    def _resurface(rng: np.random.Generator, daily: dict[str, np.ndarray]) -> dict[int, int]:
        """Now and then (6 %) a video two to four weeks old is linked from outside and gets a
        two-day burst of views far above its recent days (its own random stream, so the other
        metrics stay as they were)."""
        views = daily["views"]
        if rng.random() >= 0.06 or len(views) < 20:
            return {}
        age = int(rng.integers(16, min(len(views), 27)))
        recent = float(views[age - 7 : age].mean())
        burst = {age: int(max(400, 12 * recent))}
        if age + 1 < len(views):
            burst[age + 1] = burst[age] // 3
        for day, extra in burst.items():
            views[day] += extra
            daily["engagedViews"][day] += int(extra * 0.8)
            daily["estimatedMinutesWatched"][day] += int(extra * 1.5)
        return burst

    @staticmethod
    def _daily_metrics(
        rng: np.random.Generator,
        spec: ChannelSpec,
        published: datetime,
        days: int,
        duration: int,
        is_short: bool,
        topic_effect: float = 1.0,
    ) -> dict[str, np.ndarray]:
        lifetime = rng.lognormal(
            mean=np.log(8_000 * spec.scale * (2.5 if is_short else 1.0) * topic_effect), sigma=0.9
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
    def split_by_source(video: Video, views: int, day: date | None = None) -> dict[str, int]:
        """Views of one day split over traffic sources (largest remainder: sums exactly); a
        resurfacing burst that day comes from outside links (EXT_URL)."""
        extra = 0
        if day is not None:
            extra = min(views, video.resurfacing.get((day - video.publish_date).days, 0))
        base = views - extra
        exact = video.traffic_mix * base
        counts = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - counts), kind="stable")[: base - counts.sum()]:
            counts[i] += 1
        counts[TRAFFIC_SOURCES.index("EXT_URL")] += extra
        return {src: int(n) for src, n in zip(TRAFFIC_SOURCES, counts, strict=True) if n}

    def resurfacings(self) -> list[tuple[str, date, int]]:
        """Ground truth for anomalies: (video_id, day, extra views) of every burst."""
        return [
            (v.video_id, v.publish_date + timedelta(days=age), extra)
            for v in self.videos_by_id.values()
            for age, extra in sorted(v.resurfacing.items())
        ]

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
