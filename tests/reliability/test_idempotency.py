"""Idempotency: the same night run three times, and overlapping backfills, publish
byte-identical marts (a checksum of every row of every mart table).

One small sandbox serves every source: a YouTube channel, a GA4 property, an Instagram
account, a Facebook page, a TikTok business account, and a LinkedIn CSV export in the inbox.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.csv_exports import ExportAccountSpec, ExportPortfolio
from sandbox.ga4_portfolio import Ga4Portfolio, PropertySpec
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from tests.marts import mart_checksums
from tests.processes import no_errors

END = date(2026, 11, 20)
START = END - timedelta(days=29)  # day 1 of 30
CLOCK = END + timedelta(days=1)  # GA4 serves yesterday; the social counters are read today
EXPORT = "northwind-linkedin"


def day(n: int) -> date:
    """Day n (1-based) of the sandbox's 30 days."""
    return START + timedelta(days=n - 1)


def every_source_sandbox(clock: date = CLOCK) -> Sandbox:
    """A sandbox (not started) serving one account of every kind, a few posts each."""
    youtube = Portfolio([ChannelSpec("Alpha News", 6, "America/New_York")], START, END)
    ga4 = Ga4Portfolio(
        [
            PropertySpec(
                "Northwind web", 6, timezone="America/New_York", locales=("en",), stories=True
            )
        ],
        START,
        END,
        stories=youtube,
    )
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "alpha.news", 8, "America/New_York"),
            SocialAccountSpec("facebook", "Alpha News", 6, "Europe/Berlin", 0.8),
            SocialAccountSpec("tiktok", "alphanews", 6, "Asia/Tokyo", 1.2, business=True),
        ],
        START,
        END,
        youtube=youtube,
    )
    return Sandbox(youtube, clock=clock, ga4=ga4, social=social)


def exports() -> ExportPortfolio:
    spec = ExportAccountSpec(EXPORT, "linkedin", "Northwind on LinkedIn", 8, "America/New_York")
    return ExportPortfolio([spec], START, END)


def every_source_config(tmp: Path, sandbox: Sandbox, name: str) -> Config:
    """A config for the sandbox's accounts and the export, with the export in its inbox."""
    data = tmp / name
    portfolio = exports()
    cfg = load_config(write_sandbox_config(tmp / f"{name}.yml", sandbox, data, exports=portfolio))
    portfolio.write(data / "inbox" / EXPORT, EXPORT, END)
    return cfg


def land_and_build(cfg: Config, first: date, last: date) -> None:
    """A backfill of [first, last] up to the build (extract resumes, as `backfill` does);
    the checks and publish of a backfill add nothing to the marts, and take long."""
    windows = {p: Window(first, last) for p, _ in cfg.iter_sources()}
    no_errors([pipeline.extract(cfg, windows, pipeline.new_run_id("backfill"), resume=True)])
    pipeline.load(cfg)
    pipeline.build(cfg)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with every_source_sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def clean(tmp_path_factory, sandbox) -> tuple[Config, dict[str, str]]:
    """One backfill over days 1-30 in a fresh data dir, built, and its marts' checksums."""
    cfg = every_source_config(tmp_path_factory.mktemp("clean"), sandbox, "clean")
    land_and_build(cfg, day(1), day(30))
    return cfg, mart_checksums(cfg.paths.warehouse)


def test_the_checksum_sees_a_changed_row_and_only_that(tmp_path, clean):
    cfg, sums = clean
    with connect(cfg.paths.warehouse, read_only=True) as con:
        platforms = {p for (p,) in con.sql("select distinct platform from marts.posts").fetchall()}
    assert platforms == {"youtube", "ga4", "instagram", "facebook", "tiktok", "linkedin"}
    assert len(sums) >= 10 and all(not s.startswith("0:") for s in sums.values())
    copy = tmp_path / "copy.duckdb"
    shutil.copy(cfg.paths.warehouse, copy)
    assert mart_checksums(copy) == sums
    with connect(copy) as con:
        con.execute(
            "update marts.post_daily set views = views + 1 "
            "where (item_id, date) = (select (item_id, date) from marts.post_daily "
            "where views is not null order by item_id, date limit 1)"
        )
        con.execute("update marts.data_quality set max_extractions = max_extractions + 1")
    changed = mart_checksums(copy)
    assert {t for t in sums if changed[t] != sums[t]} == {"post_daily"}
    assert (
        mart_checksums(copy, exclude={})["data_quality"]
        != mart_checksums(cfg.paths.warehouse, exclude={})["data_quality"]
    )


def test_the_same_night_three_times_publishes_identical_marts(tmp_path, sandbox, clean):
    """The night after the backfill, three times (the sandbox's clock unchanged), each
    built, the last checked and published: every mart as the backfill left it. (A check
    takes tens of seconds, and only a checked build is published: the publish copies the
    marts as built, which the last comparison confirms.)"""
    shutil.copytree(clean[0].paths.warehouse.parent, tmp_path / "nights")
    cfg = every_source_config(tmp_path, sandbox, "nights")
    built = []
    for _ in range(3):
        window = {p: pipeline.night_window(cfg, p, END) for p, _ in cfg.iter_sources()}
        no_errors([pipeline.extract(cfg, window, pipeline.new_run_id("night"))])
        assert pipeline.load(cfg).rows > 0, "the night landed new files"
        pipeline.build(cfg)
        built.append(mart_checksums(cfg.paths.warehouse))
    pipeline.check(cfg, END)
    pipeline.publish(cfg)
    published = mart_checksums(cfg.paths.analytics)
    assert built[0] == clean[1]
    assert built[1] == built[0]
    assert built[2] == built[0]
    assert published == built[2]


def test_overlapping_backfills_build_what_one_clean_backfill_does(tmp_path, sandbox, clean):
    cfg = every_source_config(tmp_path, sandbox, "overlapping")
    for first, last in ((1, 20), (10, 30), (5, 25)):
        land_and_build(cfg, day(first), day(last))
    got = mart_checksums(cfg.paths.warehouse)
    assert {t for t in clean[1] if got.get(t) != clean[1][t]} == set()
    assert got == clean[1]
