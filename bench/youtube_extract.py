"""YouTube extraction at scale against the sandbox: prints figures, asserts nothing.

1. A backfill of 3 channels / 5,000 videos / 400 days: wall time, rows, API calls and
   Data API units against the theoretical minimum; rows compared with the ground truth.
2. The same backfill again: what a resumed or repeated run costs.
3. With 100 ms added to every sandbox response: sequential (1 worker) vs concurrent.

    python bench/youtube_extract.py [--videos 5000] [--days 400] [--latency-videos 300]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from connectors.youtube import plan_chunks
from connectors.youtube.settings import TRAFFIC_DAYS
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.demo import use_sandbox_connections, write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox

END = date(2026, 11, 20)


def portfolio(videos: int, days: int) -> Portfolio:
    per = videos // 3
    return Portfolio(
        [
            ChannelSpec("North", per, "America/New_York", 1.0),
            ChannelSpec("East", per, "Asia/Tokyo", 0.6),
            ChannelSpec("South", videos - 2 * per, "America/Sao_Paulo", 1.4),
        ],
        start=END - timedelta(days=days),
        end=END,
    )


def minimum_calls(p: Portfolio, clock: date) -> dict[str, int]:
    """The fewest calls the APIs allow for a backfill of every video over its history."""
    window = Window(p.start, END)
    data = analytics = 0
    for channel in p.channels:
        videos = p.visible_videos(channel, clock)
        data += 1 + 2 * math.ceil(len(videos) / 50)
        for chunk in plan_chunks(window):
            live = [v for v in videos if v.publish_date <= chunk.end]
            rows = sum((chunk.end - max(chunk.start, v.publish_date)).days + 1 for v in live)
            analytics += max(math.ceil(len(live) / 200), math.ceil(rows / 200))  # video-day rows
            analytics += 1 + 1  # channel days, channel traffic (one page each at least)
            analytics += sum(
                1
                for v in live
                if max(chunk.start, v.publish_date)
                <= min(chunk.end, v.publish_date + timedelta(days=TRAFFIC_DAYS - 1))
            )
    return {"data_api_units": data, "analytics_queries": analytics}


def backfill(p: Portfolio, workdir: Path, latency: float = 0.0, concurrency: int = 4) -> dict:
    clock = END + timedelta(days=2)
    with Sandbox(p, clock=clock, latency_s=latency) as sandbox:
        cfg = load_config(write_sandbox_config(workdir / "cfg.yml", sandbox, workdir / "data"))
        yt = cfg.sources.youtube.model_copy(
            update={"concurrency": concurrency, "max_calls_per_second": None}
        )
        cfg = cfg.model_copy(update={"sources": cfg.sources.model_copy(update={"youtube": yt})})
        started = time.perf_counter()
        step = pipeline.extract(cfg, {"youtube": Window(p.start, END)}, "bench", resume=True)
        seconds = time.perf_counter() - started
        calls = dict(sandbox.calls)
    return {
        "cfg": cfg,
        "seconds": seconds,
        "rows": step.rows,
        "errors": step.errors,
        "data_api_units": sum(n for path, n in calls.items() if path.startswith("/youtube/v3/")),
        "analytics_queries": calls.get("/v2/reports", 0),
        "clock": clock,
    }


def compare_with_truth(p: Portfolio, cfg, clock: date) -> str:
    pipeline.load(cfg)
    pipeline.build(cfg)
    truth = p.content_daily_truth(clock)
    with connect(cfg.paths.warehouse, read_only=True) as con:
        got = con.sql(
            "select count(*), sum(views) from staging.stg_youtube__video_daily"
        ).fetchall()[0]
        dupes = con.sql(
            "select count(*) from (select account_id, item_id, date from raw.youtube__content_daily "
            "group by all having count(*) > 1)"
        ).fetchall()[0][0]
    same = got == (len(truth), int(truth.views.sum()))
    return (
        f"warehouse {got[0]:,} video-days, {got[1]:,} views; sandbox truth {len(truth):,} video-days, "
        f"{int(truth.views.sum()):,} views -> {'EXACT' if same else 'DIFFERENT'}; raw duplicates {dupes}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=5000)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--latency-videos", type=int, default=300)
    ap.add_argument("--latency-days", type=int, default=60)
    args = ap.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    use_sandbox_connections()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        p = portfolio(args.videos, args.days)
        floor = minimum_calls(p, END + timedelta(days=2))
        print(f"\n== backfill: 3 channels, {args.videos:,} videos, {args.days} days ==")
        first = backfill(p, tmp / "scale")
        print(
            f"wall {first['seconds']:.1f} s, {first['rows']:,} rows landed, errors: {first['errors'] or 'none'}"
        )
        for key in ("data_api_units", "analytics_queries"):
            print(
                f"{key}: {first[key]:,} (theoretical minimum {floor[key]:,}, "
                f"{first[key] / floor[key]:.2f}x)"
            )
        print(compare_with_truth(p, first["cfg"], first["clock"]))
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
        print("\n== the same backfill again (resume: finished chunks are skipped) ==")
        again = backfill(p, tmp / "scale")
        print(
            f"wall {again['seconds']:.1f} s, {again['rows']:,} rows landed, "
            f"{again['data_api_units']} Data API units (re-listing uploads), "
            f"{again['analytics_queries']} Analytics queries"
        )

        small = portfolio(args.latency_videos, args.latency_days)
        print(
            f"\n== 100 ms per call: 3 channels, {args.latency_videos} videos, {args.latency_days} days =="
        )
        for workers in (1, 4, 8):
            run = backfill(small, tmp / f"latency{workers}", latency=0.1, concurrency=workers)
            calls = run["data_api_units"] + run["analytics_queries"]
            print(
                f"{workers} worker(s): wall {run['seconds']:.1f} s for {calls:,} calls "
                f"({calls / run['seconds']:.1f} calls/s), {run['rows']:,} rows"
            )


if __name__ == "__main__":
    main()
