"""The fault matrix's two tables and what a cell does with them.

`SOURCES` has one row per source: its tiny sandbox, the path prefix its faults strike (one
the extraction calls several times, so that `after` lands a fault mid-run), its throttling
fault and the truth check of the warehouse against the sandbox's ground truth. Adding a
source to the matrix is adding a row here. `FAULTS` has one row per fault kind.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import CONNECTIONS_FILE, write_sandbox_config
from contentpulse.streams import Window
from sandbox import ChannelSpec, Fault, Portfolio, Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio

END = date(2026, 11, 20)  # every portfolio's last day
START = END - timedelta(days=19)  # twenty days
CONTENTPULSE = str(Path(sys.executable).parent / "contentpulse")
REPO = Path(__file__).resolve().parents[2]


# -- the ground truth, compared key by key -----------------------------------------------
@dataclass(frozen=True)
class Comparison:
    expected: int
    lost: list
    duplicated: list
    unexpected: list
    wrong: list

    def assert_equal(self, what: str) -> str:
        assert self.expected > 0, f"{what}: the ground truth is empty"
        assert not self.lost, f"{what}: {len(self.lost)} keys lost, e.g. {self.lost[:3]}"
        assert not self.duplicated, (
            f"{what}: {len(self.duplicated)} keys duplicated, e.g. {self.duplicated[:3]}"
        )
        assert not self.unexpected, (
            f"{what}: {len(self.unexpected)} keys not in the truth, e.g. {self.unexpected[:3]}"
        )
        assert not self.wrong, f"{what}: {len(self.wrong)} values differ, e.g. {self.wrong[:3]}"
        return f"{self.expected} {what}"


def compare(rows: Iterable[tuple], truth: dict[tuple, tuple], key_len: int) -> Comparison:
    """Rows (key columns, then values) against truth (key -> values): what is missing, what
    appears more than once, what should not be there, and where the values differ."""
    got: dict[tuple, tuple] = {}
    seen: Counter[tuple] = Counter()
    for row in rows:
        key, values = tuple(row[:key_len]), tuple(row[key_len:])
        seen[key] += 1
        got[key] = values
    return Comparison(
        expected=len(truth),
        lost=[k for k in truth if k not in got],
        duplicated=[k for k, n in seen.items() if n > 1],
        unexpected=[k for k in got if k not in truth],
        wrong=[(k, got[k], v) for k, v in truth.items() if k in got and got[k] != v],
    )


def assert_nothing_loaded_twice(con: duckdb.DuckDBPyConnection, platform: str) -> None:
    """Every landing file loaded once, and no raw row twice (staging keeps the newest
    extraction of a key, so a row loaded twice would hide there)."""
    files = con.sql(
        "select count(*), count(distinct path) from meta.loaded_files where source = $p",
        params={"p": platform},
    ).fetchall()[0]
    assert files[0] == files[1] > 0, f"{platform}: landing files loaded twice: {files}"
    tables = con.sql(
        "select table_name from duckdb_tables() where schema_name = 'raw' "
        "and starts_with(table_name, $p)",
        params={"p": f"{platform}__"},
    ).fetchall()
    for (table,) in tables:
        n, distinct = con.sql(
            f"select count(*), count(distinct t) from raw.{table} as t"
        ).fetchall()[0]
        assert n == distinct, f"raw.{table}: {n - distinct} rows loaded twice"


def youtube_truth(con: duckdb.DuckDBPyConnection, sandbox: Sandbox) -> str:
    portfolio = sandbox.portfolio
    daily = portfolio.content_daily_truth(sandbox.clock)
    truth = {
        (r.account_id, r.item_id, r.date): (int(r.views), int(r.likes)) for r in daily.itertuples()
    }
    rows = con.sql(
        "select account_id, item_id, date, views, likes from staging.stg_youtube__video_daily"
    ).fetchall()
    days = compare(rows, truth, 3).assert_equal("video-days")
    videos = {
        (c.channel_id, v.video_id): ()
        for c in portfolio.channels
        for v in portfolio.visible_videos(c, sandbox.clock)
    }
    items = con.sql("select account_id, item_id from staging.stg_youtube__videos").fetchall()
    return f"{compare(items, videos, 2).assert_equal('videos')}, {days}"


def ga4_truth(con: duckdb.DuckDBPyConnection, sandbox: Sandbox) -> str:
    from tests.e2e.test_ga4_night import truth_item_days

    truth = {key: (views,) for key, views in truth_item_days(sandbox, sandbox.clock).items()}
    rows = con.sql("select item_id, date, views from staging.stg_ga4__page_daily").fetchall()
    return compare(rows, truth, 2).assert_equal("page-days")


def social_truth(platform: str) -> Callable[[duckdb.DuckDBPyConnection, Sandbox], str]:
    """Each post the account shows at the sandbox's clock, once, with its lifetime counters."""

    def check(con: duckdb.DuckDBPyConnection, sandbox: Sandbox) -> str:
        social, clock = sandbox.social, sandbox.clock
        truth = {}
        for account in social.by_platform(platform):
            for post in social.visible_posts(account, clock):
                life = social.lifetime(post, clock)
                truth[(account.account_id, post.post_id)] = tuple(
                    life[m] for m in ("views", "likes", "comments", "shares")
                )
        snapshots = con.sql(
            f"select account_id, item_id, views, likes, comments, shares "
            f"from staging.stg_{platform}__snapshots"
        ).fetchall()
        posts = con.sql(f"select account_id, item_id from staging.stg_{platform}__posts").fetchall()
        posts_cmp = compare(posts, dict.fromkeys(truth, ()), 2).assert_equal("posts")
        days = con.sql(
            f"select account_id, date, views from staging.stg_{platform}__account_daily"
        ).fetchall()
        days_cmp = compare(days, account_days_truth(social, platform, clock), 2)
        return (
            f"{posts_cmp}, {compare(snapshots, truth, 2).assert_equal('post snapshots')}, "
            f"{days_cmp.assert_equal('account days')}"
        )

    return check


def account_days_truth(social: SocialPortfolio, platform: str, clock: date) -> dict:
    """(account, day) -> (views,) for every day the platform serves account totals of in
    the matrix's window: Meta's through the day before the clock, a TikTok business
    account's from the day before the window (the followers baseline) to its lagging newest."""
    out = {}
    for account in social.by_platform(platform):
        if platform == "tiktok":
            if not account.business:
                continue
            first, last = START - timedelta(days=1), social.tiktok_account_days(clock)[1]
        else:
            first, last = START, min(END, clock - timedelta(days=1))
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            out[(account.account_id, day)] = (social.account_day(account, day)["views"],)
    return out


# -- the sources ---------------------------------------------------------------------------
def _youtube(videos: int = 10) -> Portfolio:
    return Portfolio([ChannelSpec("Alpha News", videos, "America/New_York")], START, END)


def _social(spec: SocialAccountSpec) -> Callable[[], Sandbox]:
    def make() -> Sandbox:
        youtube = _youtube(3)
        social = SocialPortfolio([spec], START, END, youtube=youtube)
        return Sandbox(youtube, clock=END + timedelta(days=1), social=social)

    return make


def _ga4() -> Sandbox:
    from tests.connectors.test_ga4 import ga4_portfolios

    youtube, ga4 = ga4_portfolios(days=(END - START).days + 1, articles=8)
    return Sandbox(youtube, clock=END + timedelta(days=1), ga4=ga4)


@dataclass(frozen=True)
class SourceRow:
    """One source of the matrix."""

    name: str  # the platform, as in config and the warehouse
    sandbox: Callable[[], Sandbox]  # its tiny sandbox, not started
    prefix: str  # the path prefix its faults strike: called several times a run
    after: int  # calls of it let through before a fault strikes (mid-run)
    throttle: str  # what its throttling answer is, on the wire
    truth_check: Callable[[duckdb.DuckDBPyConnection, Sandbox], str]
    # (prefix, after): a request held open there stops the extraction mid-way, after the
    # items unit landed (where it lands anything) and before the metric units all did
    hold: tuple[str, int]
    # whether an expired token was refreshed, from the sandbox calls of the run and its log
    # (None: the source cannot refresh its tokens and stops, naming the account)
    refreshed: Callable[[Counter, str], bool] | None
    stops_on: frozenset[str] = frozenset()  # faults it stops on by design (not just quota)


def _google_refreshed(calls: Counter, log: str) -> bool:
    # google-auth's transports log each refresh after a 401 (at INFO, which the cell shows)
    return "Refreshing credentials due to a 401 response" in log


# Meta's tokens are long-lived: an expired one is the user's to renew, and a throttled
# app or account stops the run (the next resumes), as Meta asks
_META_STOPS = frozenset({"expired-token", "throttle"})

SOURCES = [
    SourceRow(
        "youtube",
        lambda: Sandbox(_youtube(), clock=END + timedelta(days=2)),
        "/v2/reports",
        3,
        "403 rateLimitExceeded",
        youtube_truth,
        ("/v2/reports", 3),
        _google_refreshed,
    ),
    SourceRow(
        "ga4",
        _ga4,
        "/v1beta/properties/",
        2,
        "429 RESOURCE_EXHAUSTED (concurrent requests)",
        ga4_truth,
        ("/v1beta/properties/", 2),
        _google_refreshed,
    ),
    SourceRow(
        "instagram",
        _social(SocialAccountSpec("instagram", "alpha.news", 10, "America/New_York")),
        "/graph/",
        4,
        "Graph error 17, usage headers at 100 %",
        social_truth("instagram"),
        # past the items unit: the account, its media, stories, day insights and views
        # (one call a day of the window)
        ("/graph/", 4 + (END - START).days + 1),
        None,
        _META_STOPS,
    ),
    SourceRow(
        "facebook",
        _social(SocialAccountSpec("facebook", "Alpha News", 10, "Europe/Berlin")),
        "/graph/",
        4,
        "Graph error 17, usage headers at 100 %",
        social_truth("facebook"),
        ("/graph/", 4),
        None,
        _META_STOPS,
    ),
    SourceRow(
        "tiktok",
        _social(SocialAccountSpec("tiktok", "alphanews", 10, "Asia/Tokyo", business=True)),
        "/tiktok/v2/video/",
        1,
        "429 rate_limit_exceeded",
        social_truth("tiktok"),
        ("/tiktok/v2/video/query/", 0),
        lambda calls, log: calls["/tiktok/v2/oauth/token/"] > 0,
        # TikTok's 429 is its rate limit: the run stops at the first one (the next resumes)
        frozenset({"429", "throttle"}),
    ),
]


# -- the faults ----------------------------------------------------------------------------
RETRY_AFTER_S = 7.0  # recorded, not slept
TIMEOUT_S = 0.5  # the source's timeout in the slow cell's config
PERSISTENT = 10_000  # a fault that outlasts the run


@dataclass(frozen=True)
class FaultRow:
    """One fault kind: the sandbox faults that make it (None: a kill), what the first run
    does (ok: succeed after retries; stop: stop cleanly, also where a source's `stops_on`
    names the fault), and config changes."""

    name: str
    faults: Callable[[SourceRow], list[Fault]] | None
    expect: str = "ok"
    config: dict | None = None
    kill: str | None = None  # extract | load


def _fault(kind: str, times: int = 2, **fields) -> Callable[[SourceRow], list[Fault]]:
    return lambda row: [Fault(row.prefix, kind, times=times, after=row.after, **fields)]


FAULTS = [
    FaultRow("429", _fault("status", status=429, retry_after=RETRY_AFTER_S)),
    FaultRow("500", _fault("status", status=500)),
    FaultRow("503", _fault("status", status=503)),
    FaultRow("timeout", _fault("slow", delay_s=2 * TIMEOUT_S), config={"timeout_s": TIMEOUT_S}),
    FaultRow("malformed", _fault("malformed")),
    FaultRow("truncated", _fault("truncated")),
    FaultRow("expired-token", _fault("expired_token", times=1)),
    FaultRow("quota", _fault("quota", times=PERSISTENT), expect="stop"),
    FaultRow("throttle", _fault("throttle")),
    FaultRow("kill-extract", None, kill="extract"),
    FaultRow("kill-load", None, kill="load"),
]


# -- running a cell ------------------------------------------------------------------------
def source_config(row: SourceRow, sandbox: Sandbox, folder: Path, **changes) -> Config:
    """A config file in `folder` with this source only (its data there too)."""
    path = write_sandbox_config(folder / "contentpulse.yml", sandbox, folder / "data")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = {row.name: raw["sources"][row.name] | changes}
    raw["history_start"] = START.isoformat()
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def extract(cfg: Config, run_id: str) -> pipeline.StepResult:
    """Extract the portfolio's days, resuming what earlier runs landed (as a backfill does)."""
    window = Window(START, END)
    return pipeline.extract(cfg, {p: window for p, _ in cfg.iter_sources()}, run_id, resume=True)


def build_staging(cfg: Config) -> None:
    """Build the staging models of the config's sources with the real runner: what the truth
    is compared with (the layers above only read them; the e2e tests build those)."""
    from contentpulse.warehouse import open_warehouse
    from models.runner import MODELS_DIR, BuildContext, build

    models = cfg.paths.warehouse.parent / "staging-models"
    if not models.exists():
        (models / "staging").mkdir(parents=True)
        for platform, _ in cfg.iter_sources():
            for model in (MODELS_DIR / "staging").glob(f"stg_{platform}__*"):
                (models / "staging" / model.name).symlink_to(model)
    with open_warehouse(cfg.paths.warehouse) as con:
        build(con, models, context=BuildContext(config=cfg))


def night(cfg: Config, run_id: str) -> pipeline.StepResult:
    """Extract, load and build the staging models (checks and publish change nothing
    compared here)."""
    extracted = extract(cfg, run_id)
    pipeline.load(cfg)
    build_staging(cfg)
    return extracted


def secrets() -> list[str]:
    """Every secret of the sandbox connections (and the first line of the private key)."""
    found = []
    for conn in json.loads(CONNECTIONS_FILE.read_text()).values():
        for key, value in conn.get("extra", {}).items():
            if key == "keyfile_dict":
                key_info = json.loads(value)
                found += [key_info["private_key_id"], key_info["private_key"].splitlines()[1]]
            elif key not in ("client_id",):
                found.append(str(value))
    return found


def landed(cfg: Config) -> list[Path]:
    return sorted(cfg.paths.landing.rglob("*.parquet")) if cfg.paths.landing.exists() else []


def contentpulse(cfg_path: Path, *args: str) -> list[str]:
    return [CONTENTPULSE, "--config", str(cfg_path), *args]


def window_args() -> list[str]:
    return ["--start", START.isoformat(), "--end", END.isoformat()]
