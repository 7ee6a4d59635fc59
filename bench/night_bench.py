"""The whole night at scale against the sandbox: prints figures, asserts nothing.

Every source at once: YouTube channels, GA4 properties, Instagram / Facebook / TikTok
accounts and CSV exports, over a long history. Two runs:

1. the first backfill of the whole history;
2. an ordinary night after it (the sandbox's clock one day on).

For each: wall time per stage (extract per source, load, build, check, publish, report),
API calls and quota per source, rows landed, and the process's peak memory (the sandbox
runs in this process too).

    python bench/night_bench.py [--channels 10] [--videos 120] [--properties 2]
        [--articles 1500] [--social-posts 600] [--days 730] [--dir D]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import use_sandbox_connections, write_sandbox_config
from contentpulse.streams import Window
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.csv_exports import ExportPortfolio
from sandbox.ga4_portfolio import Ga4Portfolio, PropertySpec
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio

END = date(2026, 11, 20)
ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", "America/Sao_Paulo", "UTC")


def portfolios(args: argparse.Namespace) -> tuple[Portfolio, Ga4Portfolio, SocialPortfolio]:
    start = END - timedelta(days=args.days - 1)
    channels = [
        ChannelSpec(f"Channel {i}", args.videos, ZONES[i % len(ZONES)], 0.5 + (i % 4) * 0.4)
        for i in range(args.channels)
    ]
    youtube = Portfolio(channels, start=start, end=END)
    properties = [
        PropertySpec(
            f"Site {i}",
            args.articles,
            host=f"site{i}.example",
            timezone=ZONES[i % len(ZONES)],
            stories=i == 0,
        )
        for i in range(args.properties)
    ]
    ga4 = Ga4Portfolio(properties, start, END, stories=youtube)
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "northwind.news", args.social_posts, ZONES[0]),
            SocialAccountSpec("instagram", "kumo.kitchen", args.social_posts, ZONES[2], 0.6),
            SocialAccountSpec("facebook", "Northwind News", args.social_posts, ZONES[0], 0.7),
            SocialAccountSpec("facebook", "Rio Explica", args.social_posts, ZONES[3], 0.5),
            SocialAccountSpec("tiktok", "kumokitchen", args.social_posts, ZONES[2], 1.4),
            SocialAccountSpec("tiktok", "rio.explains", args.social_posts, ZONES[3], 1.0, False),
        ],
        start,
        END,
        youtube=youtube,
    )
    return youtube, ga4, social


def mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(cfg: Config, windows: dict[str, Window], run_date: date, label: str) -> None:
    """Extract each source, then load -> build -> check -> publish -> report, timed."""
    print(f"\n{label}")
    print(f"   {'stage':<22} {'wall s':>8} {'rows':>11} {'calls':>8} {'quota':>8}  peak MiB")
    total = time.perf_counter()
    run_id = pipeline.new_run_id("bench")
    for platform, source in cfg.iter_sources():
        started = time.perf_counter()
        step = pipeline.extract_source(
            cfg, platform, [a.id for a in source.accounts], windows[platform], run_id
        )
        seconds = time.perf_counter() - started
        quota = step.outputs.get("quota_units", "0")
        print(
            f"   extract {platform:<14} {seconds:>8.1f} {step.rows:>11,} {step.calls:>8,} "
            f"{int(quota):>8,}  {mib():>8,.0f}"
        )
        for error in step.errors:
            print(f"      ! {error}")
    for name, fn in (
        ("load", lambda: pipeline.load(cfg)),
        ("build", lambda: pipeline.build(cfg)),
        ("check", lambda: pipeline.check(cfg, run_date)),
        ("publish", lambda: pipeline.publish(cfg)),
        ("report", lambda: pipeline.report(cfg)),
    ):
        started = time.perf_counter()
        step = fn()
        print(
            f"   {name:<22} {time.perf_counter() - started:>8.1f} {step.rows:>11,} "
            f"{'':>8} {'':>8}  {mib():>8,.0f}"
        )
        if name == "build":
            print(f"      {step.detail}; slowest: {step.outputs['slowest']}")
    print(f"   {'whole run':<22} {time.perf_counter() - total:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--videos", type=int, default=120, help="videos per channel")
    parser.add_argument("--properties", type=int, default=2)
    parser.add_argument("--articles", type=int, default=1500, help="articles per property")
    parser.add_argument("--social-posts", type=int, default=600, help="posts per social account")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--dir", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    use_sandbox_connections()
    started = time.perf_counter()
    youtube, ga4, social = portfolios(args)
    exports = ExportPortfolio.demo(END)
    print(
        f"portfolio: {args.channels} channels x {args.videos} videos, {args.properties} GA4 "
        f"properties x {args.articles} articles, {len(social.accounts)} social accounts x "
        f"{args.social_posts} posts, 2 CSV export accounts, {args.days} days "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    clock = END + timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="cp-night-bench-") as tmp_dir,
        Sandbox(youtube, clock=clock, ga4=ga4, social=social) as sandbox,
    ):
        root = args.dir or Path(tmp_dir)
        cfg = load_config(
            write_sandbox_config(root / "contentpulse.yml", sandbox, root / "data", exports=exports)
        )
        for account_id in exports.specs:
            exports.write(root / "data" / "inbox" / account_id, account_id, END)
        windows = {p: Window(youtube.start, END) for p, _ in cfg.iter_sources()}
        run(cfg, windows, END, f"1. first backfill, {youtube.start} .. {END}")
        stats = sandbox.stats()
        print(f"   sandbox: YouTube Data API units used {sum(stats['quota_used'].values()):,}")

        sandbox.clock = clock + timedelta(days=1)
        night = END + timedelta(days=1)
        windows = {p: pipeline.night_window(cfg, p, night) for p, _ in cfg.iter_sources()}
        run(cfg, windows, night, f"2. an ordinary night: {night} (lookback included)")
    print(f"\npeak RSS {mib():,.0f} MiB")


if __name__ == "__main__":
    main()
