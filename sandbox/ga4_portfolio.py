"""A deterministic synthetic GA4 portfolio: web properties whose pages tell stories.

Every value follows from (seed, property index, page index). A property has article pages
(a launch spike that decays, an evergreen tail, weekday seasonality, Poisson noise, a few
viral outliers) and hub pages (the home page and one page per topic, steady traffic). A
property linked to a YouTube `Portfolio` (`PropertySpec.stories`) also publishes every
story of it at the story's own URL (`https://northwind.example/stories/<slug>`), a couple
of hours before the video, so content families link web pages and videos.

Pages are reached under several `pagePath` variants, as on a real site: the canonical
path, a trailing slash, a newsletter query string, the AMP page (on `amp.<host>`), and a
locale prefix (`/en/...`) where the property has locales. Their rows sum exactly to the
page's own figures, so the normalised item's truth is known.

GA4 quirks the sandbox reproduces, all deterministic:
- Processing: day X is served from clock X + 1 on; the newest `len(provisional)` served
  days are under-counted (80 %, then 95 %) and restated when the clock moves on.
- Non-additive users: activeUsers of a row collapsed over pages (a property total) is 85 %
  of the pages' sum, and over days (a week) 60 % of the days' sum: summing users is wrong.
- Thresholding: on a property with Google signals, a report with a user metric is
  `subjectToThresholding` and rows with fewer than `threshold_users` users are withheld.
- "(other)": a day with more rows than `cardinality_limit` keeps its top rows (by the
  first metric) and folds the rest into one "(other)" row (`dataLossFromOtherRow`).
- "(not set)" (opt-in, `PropertySpec.not_set_views`): hits GA4 recorded without a page
  (events sent before a page_view, measurement-protocol hits) come as rows whose pagePath
  and pageTitle are "(not set)", as on real properties.
- Sampling is decided per request in `ga4_api.py` (events in the range above a limit).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.portfolio import PEOPLE, PLACES, TOPIC_EFFECTS, TOPICS, Portfolio

SITE = "Northwind"
EN_PREFIXES = ["How we fixed", "Inside the", "Why everyone is talking about", "The truth about"]
SECTIONS = ["news", "features", "explainers", "analysis"]
# (sessionSource, sessionMedium, sessionCampaignName) and how much traffic each brings
TRAFFIC_SOURCES = [
    ("google", "organic", "(organic)"),
    ("(direct)", "(none)", "(direct)"),
    ("youtube.com", "referral", "(referral)"),
    ("newsletter", "email", "weekly-digest"),
    ("t.co", "referral", "(referral)"),
    ("facebook.com", "referral", "(referral)"),
    ("bing", "organic", "(organic)"),
]
TRAFFIC_WEIGHTS = np.array([5.0, 3.0, 1.2, 1.0, 0.7, 0.8, 0.4])
NEWSLETTER_QUERY = "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-digest"
# What a row can be broken down by; a dimension outside these needs no data of its own.
PAGE_DIMENSIONS = (
    "date",
    "isoYearIsoWeek",
    "hostName",
    "pagePath",
    "pageTitle",
    "contentGroup",
    "customEvent:article_section",
    "customEvent:author",
)
SOURCE_DIMENSIONS = ("sessionSource", "sessionMedium", "sessionCampaignName")
DIMENSIONS = PAGE_DIMENSIONS + SOURCE_DIMENSIONS
# metric -> GA4 metric type (as getMetadata states it)
METRICS = {
    "screenPageViews": "TYPE_INTEGER",
    "activeUsers": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "sessions": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "userEngagementDuration": "TYPE_SECONDS",
    "keyEvents": "TYPE_FLOAT",
    "eventCount": "TYPE_INTEGER",
}
USER_METRICS = frozenset({"activeUsers", "totalUsers"})
# activeUsers of rows collapsed over pages, or over days, is this share of their sum
USERS_ACROSS_PAGES = 0.85
USERS_ACROSS_DAYS = 0.6
OTHER = "(other)"
NOT_SET = "(not set)"


def _token(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _slug(text: str) -> str:
    return text.replace("the ", "").replace(" ", "-")


@dataclass(frozen=True)
class PropertySpec:
    name: str
    articles: int  # synthetic articles published within the portfolio's span
    host: str = "northwind.example"
    timezone: str = "UTC"
    scale: float = 1.0  # typical lifetime views of an article, relative
    signals: bool = False  # Google signals on: reports with user metrics are thresholded
    locales: tuple[str, ...] = ()  # some visits arrive under /<locale>/<path>
    stories: bool = False  # also publishes every story of the linked YouTube portfolio
    cardinality_limit: int = 50_000  # rows a report keeps per day before "(other)"
    not_set_views: float = 0.0  # typical daily views of "(not set)" rows (0: none)


@dataclass
class Page:
    path: str  # the canonical path
    title: str
    content_group: str
    section: str
    author: str
    published_at: datetime | None  # None: a hub page, there all along
    story_id: str  # the story it tells ("" for hubs)
    first: int  # day index (from the portfolio's start) of views[0]
    views: np.ndarray  # final screenPageViews per day from `first`
    variants: tuple[tuple[str, str], ...]  # (hostName, pagePath); [0] is canonical
    variant_shares: np.ndarray  # share of views per variant; [0] takes the remainder
    source_index: np.ndarray  # indices into TRAFFIC_SOURCES; [0] takes the remainder
    source_shares: np.ndarray
    sessions_per_view: float
    users_per_session: float
    engaged_share: float
    seconds_per_view: float
    key_event_rate: float


@dataclass
class Property:
    property_id: str
    spec: PropertySpec
    pages: list[Page]

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class ReportRows:
    """What one report query returns before paging: rows and the day-level flags."""

    rows: list[tuple[tuple[str, ...], tuple[float, ...]]]
    other_days: set[date]  # days with an "(other)" row
    thresholded: bool
    withheld: int  # rows withheld for thresholds


class Ga4Portfolio:
    """GA4 properties between `start` and `end`, with final daily page metrics."""

    lag_days = 1
    provisional = (0.8, 0.95)  # the newest served day, the one before
    threshold_users = 3

    def __init__(
        self,
        properties: list[PropertySpec],
        start: date,
        end: date,
        seed: int = 11,
        stories: Portfolio | None = None,
    ) -> None:
        if end < start:
            raise ValueError("portfolio end is before its start")
        self.specs = properties
        self.start = start
        self.end = end
        self.seed = seed
        self.stories = stories

    @classmethod
    def demo(cls, youtube: Portfolio, articles: int = 120) -> Ga4Portfolio:
        """One property: the publisher's site, with the YouTube portfolio's stories."""
        spec = PropertySpec(
            "Northwind web", articles, timezone="America/New_York", locales=("en",), stories=True
        )
        return cls([spec], youtube.start, youtube.end, stories=youtube)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @cached_property
    def properties(self) -> list[Property]:
        return [self._make_property(i, spec) for i, spec in enumerate(self.specs)]

    def property(self, property_id: str) -> Property | None:
        return next((p for p in self.properties if p.property_id == property_id), None)

    # -- generation -------------------------------------------------------------------
    def _make_property(self, index: int, spec: PropertySpec) -> Property:
        property_id = str(300_000_000 + _token(self.seed, "property", index) % 600_000_000)
        rng = np.random.default_rng([self.seed, index, 0])
        pages = [self._hub(rng, index, spec, "/", f"{SITE} — news that matters", "home")]
        for topic in TOPICS:
            pages.append(
                self._hub(rng, index, spec, f"/topics/{_slug(topic)}", f"{topic} | {SITE}", topic)
            )
        if spec.stories and self.stories is not None:
            pages.extend(self._story_pages(index, spec))
        tz = ZoneInfo(spec.timezone)
        span_s = self.days * 86400 - 1
        offsets = np.sort(
            np.random.default_rng([self.seed, index, 1]).integers(0, span_s, spec.articles)
        )
        for i, offset in enumerate(offsets):
            r = np.random.default_rng([self.seed, index, 2, i])
            topic = TOPICS[int(r.integers(0, len(TOPICS)))]
            person, place = int(r.integers(0, len(PEOPLE))), int(r.integers(0, len(PLACES)))
            number = int(r.integers(100, 1000))
            prefix = EN_PREFIXES[int(r.integers(0, len(EN_PREFIXES)))]
            title = f"{prefix} {topic} — {PEOPLE[person][0]}, {PLACES[place][0]}, {number}"
            published = datetime.combine(self.start, time(), tz).astimezone(UTC) + timedelta(
                seconds=int(offset)
            )
            pages.append(
                self._article(
                    index,
                    spec,
                    key=("article", i),
                    path=f"/stories/{_slug(topic)}-p{index}-{i}",
                    title=f"{title} | {SITE}",
                    topic=topic,
                    author=PEOPLE[person][0],
                    published=published,
                    story_id=f"web-{index}-{i}",
                )
            )
        if spec.not_set_views:
            pages.append(self._not_set(index, spec))
        return Property(property_id, spec, pages)

    def _not_set(self, index: int, spec: PropertySpec) -> Page:
        """The hits GA4 could not tie to a page: pagePath and pageTitle "(not set)", on the
        property's host, every day (its own random stream: the other pages stay as they were)."""
        rng = np.random.default_rng([self.seed, index, 5])
        views = rng.poisson(spec.not_set_views, self.days).astype(np.int64)
        order, mix = self._traffic(rng, TRAFFIC_WEIGHTS)
        return Page(
            NOT_SET, NOT_SET, NOT_SET, NOT_SET, "", None, "", 0, views, ((spec.host, NOT_SET),),
            np.array([1.0]), order, mix, **self._rates(rng),
        )  # fmt: skip

    def _story_pages(self, index: int, spec: PropertySpec) -> list[Page]:
        """A page for every story of the linked YouTube portfolio, two hours before its
        first video; the story's own URL, title and topic."""
        assert self.stories is not None
        first_video: dict[str, datetime] = {}
        for channel in self.stories.channels:
            for video in channel.videos:
                seen = first_video.get(video.story_id)
                if seen is None or video.published_at < seen:
                    first_video[video.story_id] = video.published_at
        # the sandbox's own ground truth: every story with its URL (read, never changed)
        stories = {plan.story.story_id: plan.story for plan in self.stories._plans.values()}
        pages = []
        for story_id in sorted(stories, key=lambda s: (first_video[s], s)):
            story = stories[story_id]
            r = np.random.default_rng([self.seed, index, 3, _token(story_id) % 2**32])
            prefix = EN_PREFIXES[int(r.integers(0, len(EN_PREFIXES)))]
            pages.append(
                self._article(
                    index,
                    spec,
                    key=("story", story_id),
                    path=urlsplit(story.url).path,
                    title=f"{story.title('en', prefix)} | {SITE}",
                    topic=story.topic,
                    author=PEOPLE[story.person][0],
                    published=first_video[story_id] - timedelta(hours=2),
                    story_id=story_id,
                )
            )
        return pages

    def _variants(
        self, rng: np.random.Generator, spec: PropertySpec, path: str
    ) -> tuple[tuple[tuple[str, str], ...], np.ndarray]:
        """The canonical (host, path) first, then the variants some visits arrive under."""
        stem = path.rstrip("/")
        candidates = [
            *([(spec.host, stem + "/")] if stem else []),
            (spec.host, path + NEWSLETTER_QUERY),
            (f"amp.{spec.host}", stem + "/amp/"),
            *((spec.host, f"/{loc}{path}") for loc in spec.locales),
        ]
        chosen = [c for c in candidates if rng.random() < 0.2]
        shares = rng.uniform(0.03, 0.15, len(chosen))
        return ((spec.host, path), *chosen), np.concatenate([[1 - shares.sum()], shares])

    def _traffic(
        self, rng: np.random.Generator, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        mix = rng.dirichlet(weights * 3)
        order = np.argsort(-mix, kind="stable")
        return order, mix[order]

    def _rates(self, rng: np.random.Generator) -> dict[str, float]:
        return {
            "sessions_per_view": float(rng.uniform(0.7, 0.95)),
            "users_per_session": float(rng.uniform(0.8, 0.97)),
            "engaged_share": float(rng.uniform(0.4, 0.7)),
            "seconds_per_view": float(rng.lognormal(np.log(45), 0.4)),
            "key_event_rate": float(rng.uniform(0.0, 0.05)),
        }

    def _hub(
        self,
        rng: np.random.Generator,
        index: int,
        spec: PropertySpec,
        path: str,
        title: str,
        group: str,
    ) -> Page:
        base = rng.lognormal(np.log(300 * spec.scale if path == "/" else 25 * spec.scale), 0.3)
        weekday = (self.start.weekday() + np.arange(self.days)) % 7
        season = np.array([1.08, 1.1, 1.06, 1.04, 1.0, 0.85, 0.87])[weekday]
        views = rng.poisson(base * season).astype(np.int64)
        variants, shares = self._variants(rng, spec, path)
        order, mix = self._traffic(rng, TRAFFIC_WEIGHTS * np.array([1, 2, 0.2, 1, 1, 1, 1]))
        return Page(
            path, title, group, "hub", "", None, "", 0, views, variants, shares, order, mix,
            **self._rates(rng),
        )  # fmt: skip

    def _article(
        self,
        index: int,
        spec: PropertySpec,
        *,
        key: tuple[str, object],
        path: str,
        title: str,
        topic: str,
        author: str,
        published: datetime,
        story_id: str,
    ) -> Page:
        rng = np.random.default_rng([self.seed, index, 4, _token(*key) % 2**32])
        local = published.astimezone(ZoneInfo(spec.timezone))
        first = (local.date() - self.start).days
        days = self.days - first
        lifetime = rng.lognormal(np.log(900 * spec.scale * TOPIC_EFFECTS.get(topic, 1.0)), 1.0)
        if rng.random() < 0.015:  # a viral outlier
            lifetime *= rng.uniform(10, 30)
        tau = rng.uniform(0.7, 3.0)
        evergreen = rng.uniform(0.01, 0.15)  # most news fades to a trickle within weeks
        age = np.arange(days, dtype=float)
        shape = (1 - evergreen) * np.exp(-age / tau) / tau + evergreen * np.exp(-age / 150) / 150
        weekday = (local.weekday() + age.astype(int)) % 7
        season = np.array([1.08, 1.1, 1.06, 1.04, 1.0, 0.85, 0.87])[weekday]
        shape[0] *= max(1 - (local.hour * 3600 + local.minute * 60) / 86400, 0.05)
        views = rng.poisson(lifetime * shape * season).astype(np.int64)
        if first < 0:  # published before the portfolio starts: keep the days within it
            views, first = views[-first:], 0
        variants, shares = self._variants(rng, spec, path)
        weights = TRAFFIC_WEIGHTS * (
            np.array([1, 1, 4, 1, 1, 1, 1]) if story_id.startswith("story-") else 1
        )
        order, mix = self._traffic(rng, weights)
        section = SECTIONS[int(rng.integers(0, len(SECTIONS)))]
        return Page(
            path, title, topic, section, author, published, story_id, first, views, variants,
            shares, order, mix, **self._rates(rng),
        )  # fmt: skip

    # -- what the API shows at a given clock --------------------------------------------
    def last_available(self, clock: date) -> date:
        return min(clock - timedelta(days=self.lag_days), self.end)

    def _factors(self, lo: int, hi: int, clock: date) -> np.ndarray | None:
        """Processing factors for day indices lo..hi at `clock` (None when all are final)."""
        # days count from the clock, not the portfolio's end: past it, they become final
        newest = (clock - timedelta(days=self.lag_days) - self.start).days
        if newest - len(self.provisional) >= hi:
            return None
        factors = np.ones(hi - lo + 1)
        for back, factor in enumerate(self.provisional):
            day = newest - back
            if lo <= day <= hi:
                factors[day - lo] = factor
        return factors

    def _page_grain(
        self, page: Page, lo: int, hi: int, clock: date, metrics: list[str], by_source: bool
    ) -> list[tuple[int, int, int, np.ndarray]]:
        """(day index, variant, source or -1, metric values) rows of one page in lo..hi."""
        a, b = max(lo, page.first), min(hi, page.first + len(page.views) - 1)
        if b < a:
            return []
        views = page.views[a - page.first : b - page.first + 1]
        factors = self._factors(a, b, clock)
        if factors is not None:
            views = np.floor(views * factors).astype(np.int64)
        if not views.any():
            return []
        # split views over variants: the others floor(share), the canonical the rest
        split = np.floor(np.outer(page.variant_shares[1:], views)).astype(np.int64)
        per_variant = np.vstack([views - split.sum(axis=0), split])
        out: list[tuple[int, int, int, np.ndarray]] = []
        for k, v in enumerate(per_variant):
            days = np.nonzero(v)[0]
            if not len(days):
                continue
            v = v[days]
            sessions = np.ceil(v * page.sessions_per_view)
            values = {
                "screenPageViews": v,
                "sessions": sessions,
                "activeUsers": np.ceil(sessions * page.users_per_session),
                "engagedSessions": np.floor(sessions * page.engaged_share + 0.5),
                "userEngagementDuration": np.round(v * page.seconds_per_view),
                "keyEvents": np.floor(sessions * page.key_event_rate),
                "eventCount": 3 * v,
            }
            values["totalUsers"] = values["activeUsers"]
            matrix = np.vstack([values[m] for m in metrics]).astype(np.int64)  # metrics x days
            if not by_source:
                for j, day in enumerate(days.tolist()):
                    out.append((a + day, k, -1, matrix[:, j]))
                continue
            parts = np.floor(page.source_shares[1:, None, None] * matrix[None, :, :]).astype(
                np.int64
            )
            first = matrix - parts.sum(axis=0)
            stacked = np.concatenate([first[None], parts])  # sources x metrics x days
            for s in range(stacked.shape[0]):
                block = stacked[s]
                for j in np.nonzero(block.any(axis=0))[0].tolist():
                    out.append((a + int(days[j]), k, int(page.source_index[s]), block[:, j]))
        return out

    def report(
        self,
        property_id: str,
        dimensions: list[str],
        metrics: list[str],
        start: date,
        end: date,
        clock: date,
    ) -> ReportRows:
        """Every row of a report (before sampling and paging), sorted by its dimensions."""
        prop = self.property(property_id)
        assert prop is not None
        last = min(end, self.last_available(clock))
        if last < start:
            return ReportRows([], set(), False, 0)
        lo, hi = (max(start, self.start) - self.start).days, (last - self.start).days
        if hi < lo:
            return ReportRows([], set(), False, 0)
        keyed, collapsed = self._keyed(prop, dimensions, metrics, lo, hi, clock)
        has_day = "date" in dimensions
        user_cols = [i for i, m in enumerate(metrics) if m in USER_METRICS]
        if collapsed and user_cols:  # users are not additive: a total is less than the sum
            has_page = "pagePath" in dimensions or "pageTitle" in dimensions
            share = (1.0 if has_page else USERS_ACROSS_PAGES) * (
                1.0 if has_day else USERS_ACROSS_DAYS
            )
            for key in collapsed:
                for i in user_cols:
                    keyed[key][i] = math.ceil(keyed[key][i] * share)
        rows = list(keyed.items())
        other_days: set[date] = set()
        limit = prop.spec.cardinality_limit
        if has_day and len(dimensions) > 1:
            rows, other_days = self._fold_other(rows, dimensions, limit)
        thresholded = prop.spec.signals and bool(user_cols)
        withheld = 0
        if thresholded:
            kept = []
            for key, values in rows:
                users = values[user_cols[0]]
                if 0 < users < self.threshold_users and OTHER not in key:
                    withheld += 1
                else:
                    kept.append((key, values))
            rows = kept
        rows.sort(key=lambda r: r[0])
        return ReportRows(
            [(key, tuple(values.tolist())) for key, values in rows],
            other_days,
            thresholded,
            withheld,
        )

    def _keyed(
        self,
        prop: Property,
        dimensions: list[str],
        metrics: list[str],
        lo: int,
        hi: int,
        clock: date,
    ) -> tuple[dict[tuple[str, ...], np.ndarray], dict[tuple[str, ...], int]]:
        """The metrics of each combination of the report's dimensions over days lo..hi, and
        how many page-grain rows each combination that several add up to collapsed."""
        by_source = any(d in SOURCE_DIMENSIONS for d in dimensions)
        keyed: dict[tuple[str, ...], np.ndarray] = {}
        collapsed: dict[tuple[str, ...], int] = {}
        exact = {"date", "hostName", "pagePath"} <= set(dimensions) and (
            not by_source or set(SOURCE_DIMENSIONS) <= set(dimensions)
        )
        day_names = [(self.start + timedelta(days=i)).strftime("%Y%m%d") for i in range(lo, hi + 1)]
        week_names = [(self.start + timedelta(days=i)).strftime("%G%V") for i in range(lo, hi + 1)]
        for page in prop.pages:
            for day, k, s, values in self._page_grain(page, lo, hi, clock, metrics, by_source):
                host, path = page.variants[k]
                source = TRAFFIC_SOURCES[s] if s >= 0 else ("", "", "")
                value_of = {
                    "date": day_names[day - lo],
                    "isoYearIsoWeek": week_names[day - lo],
                    "hostName": host,
                    "pagePath": path,
                    "pageTitle": page.title,
                    "contentGroup": page.content_group,
                    "customEvent:article_section": page.section,
                    "customEvent:author": page.author or "(not set)",
                    "sessionSource": source[0],
                    "sessionMedium": source[1],
                    "sessionCampaignName": source[2],
                }
                key = tuple(value_of[d] for d in dimensions)
                if exact:
                    keyed[key] = values
                elif key in keyed:
                    keyed[key] = keyed[key] + values
                    collapsed[key] = collapsed.get(key, 1) + 1
                else:
                    keyed[key] = values.copy()
        return keyed, collapsed

    def _fold_other(
        self, rows: list[tuple[tuple[str, ...], np.ndarray]], dimensions: list[str], limit: int
    ) -> tuple[list[tuple[tuple[str, ...], np.ndarray]], set[date]]:
        """Per day, rows beyond `limit` (the smallest by the first metric) become "(other)"."""
        d = dimensions.index("date")
        by_day: dict[str, list[tuple[tuple[str, ...], np.ndarray]]] = {}
        for row in rows:
            by_day.setdefault(row[0][d], []).append(row)
        out, other_days = [], set()
        for day, day_rows in by_day.items():
            if len(day_rows) <= limit:
                out.extend(day_rows)
                continue
            day_rows.sort(key=lambda r: (-int(r[1][0]), r[0]))
            out.extend(day_rows[: limit - 1])
            folded = np.sum([values for _, values in day_rows[limit - 1 :]], axis=0)
            key = tuple(day if i == d else OTHER for i in range(len(dimensions)))
            out.append((key, folded))
            other_days.add(datetime.strptime(day, "%Y%m%d").date())
        return out, other_days

    def daily_events(self, property_id: str, clock: date) -> dict[date, int]:
        """eventCount per served day of a property (what decides sampling)."""
        prop = self.property(property_id)
        assert prop is not None
        last = (self.last_available(clock) - self.start).days
        totals = np.zeros(max(last + 1, 0), dtype=np.int64)
        for page in prop.pages:
            n = min(len(page.views), last + 1 - page.first)
            if n <= 0:
                continue
            views = page.views[:n]
            factors = self._factors(page.first, page.first + n - 1, clock)
            if factors is not None:
                views = np.floor(views * factors).astype(np.int64)
            totals[page.first : page.first + n] += 3 * views
        return {self.start + timedelta(days=i): int(v) for i, v in enumerate(totals)}

    def families(self) -> dict[tuple[str, str], str]:
        """Ground truth of identity for pages: (property_id, canonical host+path) -> story id."""
        return {
            (p.property_id, f"{p.spec.host}{page.path}"): page.story_id
            for p in self.properties
            for page in p.pages
            if page.story_id
        }
