"""Live and scheduled streams, and items that go private or are deleted mid-backfill.

A backfill in two runs against sandboxes that serve these shapes (opt-in portfolios), each
run through the real connectors, then one load and build:
- YouTube: a stream on air is format `live` with no length (its `P0D`), a recorded stream
  is `live` too, and neither enters the length and format effects; a scheduled stream is no
  content until it airs; a video that goes private or is deleted between the runs is kept,
  marked gone, with its days.
- Instagram, Facebook and TikTok: a post deleted between the runs (no longer listed, or not
  found by id), or between the listing and its insights (Graph error 100, subcode 33), is
  kept and marked gone, with no snapshot of NULLs; neither run fails.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import yaml

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio

END = date(2026, 11, 20)
START = END - timedelta(days=45)
FIRST = END - timedelta(days=10)  # the first run's clock
LAST = END + timedelta(days=1)  # the second run's: a stream that started on END is on air


def config(tmp_path: Path, sandbox: Sandbox, platforms: tuple[str, ...]) -> Config:
    path = write_sandbox_config(tmp_path / "contentpulse.yml", sandbox, tmp_path / "data")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = {p: raw["sources"][p] for p in platforms}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def backfill_in_two_runs(cfg: Config, sandbox: Sandbox) -> None:
    """Half the window at the first clock, the rest (resumed) at the last; then load, build."""
    for run_id, clock, end in (("first", FIRST, FIRST - timedelta(days=2)), ("last", LAST, END)):
        sandbox.clock = clock
        windows = {p: Window(START, end) for p, _ in cfg.iter_sources()}
        step = pipeline.extract(cfg, windows, run_id, resume=True)
        assert step.errors == [], step.errors
    pipeline.load(cfg)
    pipeline.build(cfg)


def landed(cfg: Config, platform: str, stream: str, run_id: str):
    folder = cfg.paths.landing / f"source={platform}" / f"stream={stream}"
    files = sorted(str(p) for p in folder.glob("account=*/window=*/*.parquet"))
    table = ds.dataset(files, format="parquet").to_table().to_pandas()
    return table[table.run_id == run_id]


def test_streams_are_live_without_a_length_and_gone_videos_are_kept_marked(tmp_path):
    youtube = Portfolio(
        [ChannelSpec("Alpha", 40, "UTC"), ChannelSpec("Beta", 40, "Asia/Tokyo")],
        START,
        END,
        streams=True,
        gone=True,
    )
    with Sandbox(youtube, clock=FIRST) as sandbox:
        cfg = config(tmp_path, sandbox, ("youtube",))
        backfill_in_two_runs(cfg, sandbox)
    videos = youtube.videos_by_id.values()
    scheduled = {  # listed at the first run, not aired yet
        v.video_id
        for v in videos
        if youtube.listed(v, FIRST) and youtube.stream_state(v, FIRST) == "upcoming"
    }
    on_air = {v.video_id for v in videos if youtube.stream_state(v, LAST) == "live"}
    streams = {v.video_id for v in videos if v.stream and v.publish_date < LAST}
    listed_first = {v.video_id for v in videos if youtube.listed(v, FIRST)}
    gone = {  # a private video is still listed; a deleted one was read if the first run saw it
        v: how
        for v, how in youtube.tombstones(LAST).items()
        if how == "private" or v in listed_first
    }
    assert scheduled and on_air and gone and set(gone.values()) == {"private", "deleted"}

    # a scheduled stream was listed, yet no content before it aired
    first_items = set(landed(cfg, "youtube", "content_items", "first").item_id)
    assert not scheduled & first_items
    aired = {v for v in scheduled if youtube.listed(youtube.videos_by_id[v], LAST)}
    assert aired and aired <= set(landed(cfg, "youtube", "content_items", "last").item_id)
    with connect(cfg.paths.warehouse, read_only=True) as con:
        posts = {
            r[0]: r[1:]
            for r in con.sql(
                "select item_id, format, duration_s, length_bucket, is_gone, gone_reason "
                "from marts.posts where platform = 'youtube'"
            ).fetchall()
        }
        live_effects = con.sql(
            "select count(*) from marts.segment_effects where format = 'live'"
        ).fetchall()[0][0]
        gone_days = dict(
            con.sql(
                "select item_id, count(*) from marts.post_daily where item_id in "
                f"({', '.join(repr(v) for v in gone)}) group by item_id"
            ).fetchall()
        )
    # every stream is live; one on air has no length (not 0 s, not under a minute)
    assert {v for v, p in posts.items() if p[0] == "live"} == streams
    for video_id in on_air:
        assert posts[video_id][1:3] == (None, "unknown")
    assert live_effects == 0  # streams stay out of the length and format effects
    # gone videos are kept, marked with why, with the days read before they went
    assert {v: p[4] for v, p in posts.items() if p[3]} == gone
    assert set(gone_days) == set(gone) and all(n > 0 for n in gone_days.values())
    never_read = {
        v for v, how in youtube.tombstones(LAST).items() if how == "deleted"
    } - gone.keys()
    assert set(posts) == {v.video_id for v in videos if v.publish_date < LAST} - never_read


def test_social_posts_deleted_mid_backfill_are_kept_marked_gone(tmp_path):
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "alpha.news", 80, "America/New_York"),
            SocialAccountSpec("facebook", "Alpha News", 70, "UTC"),
            SocialAccountSpec("tiktok", "alphanews", 50, "Asia/Tokyo"),
        ],
        START,
        END,
        gone_share=0.35,
    )
    youtube = Portfolio([ChannelSpec("Tiny", 2, "UTC")], START, END)
    with Sandbox(youtube, clock=FIRST, social=social) as sandbox:
        cfg = config(tmp_path, sandbox, ("instagram", "facebook", "tiktok"))
        graph = next(api for api in sandbox.apis if "/graph/" in api.prefixes)
        # deleted in the middle of the last run: listed, then its insights refused (100/33)
        mid_run = {  # a post the first run never saw: due in the last, so its insights are asked
            next(
                p.post_id
                for p in social.visible_posts(account, LAST)
                if p.publish_date >= FIRST and not p.is_story
            )
            for account in social.accounts
            if account.platform in ("instagram", "facebook")
        }
        graph.deleted_after_listing |= mid_run
        backfill_in_two_runs(cfg, sandbox)
    first = {
        p.post_id for a in social.accounts for p in social.visible_posts(a, FIRST)
    }  # what the first run landed
    deleted = {p for p in social.tombstones(LAST) if p in first} | mid_run
    tiktok = {p.post_id for p in social.accounts[2].posts}
    assert mid_run and deleted & tiktok and deleted - tiktok - mid_run

    with connect(cfg.paths.warehouse, read_only=True) as con:
        posts = dict(
            con.sql(
                "select item_id, gone_reason from marts.posts "
                "where platform in ('instagram', 'facebook', 'tiktok')"
            ).fetchall()
        )
        null_snapshots = con.sql(
            "select count(*) from staging.stg_instagram__snapshots where views is null "
            f"and item_id in ({', '.join(repr(p) for p in mid_run)})"
        ).fetchall()[0][0]
    assert first | mid_run <= set(posts)  # kept
    assert {p for p, why in posts.items() if why} == deleted  # marked gone, nothing else
    assert {posts[p] for p in deleted} == {"deleted", "not_found"}
    assert {posts[p] for p in deleted & tiktok} == {"not_found"}
    assert null_snapshots == 0  # a gone post lands no snapshot of NULLs
