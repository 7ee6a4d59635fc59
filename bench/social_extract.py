"""Social extraction at scale against the sandbox: prints figures, asserts nothing.

2 Instagram accounts, 1 Facebook page and 2 TikTok accounts (one business), 3,000 posts each
over 400 days (the issue's scale):

1. A backfill: wall time, API calls per platform, rows landed.
2. A week of nights after it, twice from the same landing state: with the age-based
   re-poll schedule (every night up to 3 days old, then at 7, 14, 28, 90, 180, 365 days),
   and re-reading every post every night (what connectors without a schedule do). Calls
   per night for each.
3. The age-based landing loaded and built: the daily deltas that rest on consecutive
   snapshots compared with the sandbox's daily truth, and every post's lifetime counters
   with the newest snapshot's.

    python bench/social_extract.py [--posts 3000] [--days 400] [--nights 7]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from connectors.social import Repoll
from contentpulse import pipeline
from contentpulse.config import Config, load_config, sources_model
from contentpulse.demo import use_sandbox_connections, write_sandbox_config
from contentpulse.warehouse import connect
from sandbox import Sandbox
from sandbox.social_portfolio import SocialPortfolio

END = date(2026, 11, 20)
SOCIAL = ("instagram", "facebook", "tiktok")


def social_config(path: Path, sandbox: Sandbox, data: Path, **changes) -> Config:
    cfg = load_config(write_sandbox_config(path, sandbox, data))
    sources = {
        p: getattr(cfg.sources, p).model_copy(update=changes)
        for p in SOCIAL
        if getattr(cfg.sources, p) is not None
    }
    return cfg.model_copy(update={"sources": sources_model()(**sources)})


def extract_all(
    cfg: Config, sandbox: Sandbox, day: date, window_start: date | None = None
) -> dict[str, tuple]:
    """Each platform's extraction for reporting day `day`: (calls, rows, seconds). Meta's
    usage is over a rolling hour and nights are a day apart: each night starts at 0 %."""
    for api in sandbox.apis:
        if hasattr(api, "reset_usage"):
            api.reset_usage()
    out = {}
    for platform, source in cfg.iter_sources():
        started = time.perf_counter()
        window = pipeline.night_window(cfg, platform, day)
        if window_start is not None:
            window = type(window)(window_start, day)
        step = pipeline.extract_source(
            cfg, platform, [a.id for a in source.accounts], window, pipeline.new_run_id("bench")
        )
        if step.errors:
            print(f"  {platform}: {step.errors[0]}")
        out[platform] = (step.calls, step.rows, time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--nights", type=int, default=7)
    args = parser.parse_args()
    use_sandbox_connections()
    first_night = END - timedelta(days=args.nights - 1)
    started = time.perf_counter()
    social = SocialPortfolio.bench(END, days=args.days, posts=args.posts)
    accounts = len(social.accounts)
    posts = sum(len(a.posts) for a in social.accounts)
    print(
        f"portfolio: {accounts} accounts, {posts:,} posts over {args.days} days "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    from sandbox import Portfolio

    youtube = Portfolio([], start=social.start, end=END)
    with (
        tempfile.TemporaryDirectory(prefix="cp-social-bench-") as tmp,
        Sandbox(youtube, clock=first_night, social=social) as sandbox,
    ):
        root = Path(tmp)
        aged = social_config(root / "aged.yml", sandbox, root / "aged")
        everything = social_config(
            root / "all.yml", sandbox, root / "all", repoll=Repoll(daily_until=3650, ages=[])
        )
        # 1. the backfill, read at the morning of the first night
        backfill_day = first_night - timedelta(days=1)
        started = time.perf_counter()
        figures = extract_all(aged, sandbox, backfill_day, window_start=social.start)
        wall = time.perf_counter() - started
        print(f"\n1. backfill through {backfill_day} ({wall:.1f} s)")
        for platform, (calls, rows, seconds) in figures.items():
            print(f"   {platform:<9} {calls:>7,} calls  {rows:>9,} rows  {seconds:6.1f} s")
        shutil.copytree(root / "aged" / "landing", root / "all" / "landing")

        # 2. a week of nights, age-based vs everything
        print(f"\n2. {args.nights} nights after it: API calls per night")
        print(f"   {'night':<11} {'platform':<9} {'age-based':>10} {'everything':>11}")
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for k in range(args.nights):
            day = first_night + timedelta(days=k)
            sandbox.clock = day + timedelta(days=1)
            a = extract_all(aged, sandbox, day)
            e = extract_all(everything, sandbox, day)
            for platform in a:
                print(f"   {day}  {platform:<9} {a[platform][0]:>10,} {e[platform][0]:>11,}")
                totals[platform][0] += a[platform][0]
                totals[platform][1] += e[platform][0]
        for platform, (x, y) in totals.items():
            print(
                f"   mean/night {platform:<9} {x / args.nights:>10,.0f} {y / args.nights:>11,.0f}"
                f"   ({y / max(x, 1):.1f}x fewer calls)"
            )

        # 3. the deltas against the truth
        started = time.perf_counter()
        pipeline.load(aged)
        pipeline.build(aged)
        print(f"\n3. load + build of the age-based landing: {time.perf_counter() - started:.1f} s")
        truth = social.daily_truth(END + timedelta(days=1), start=social.start)
        with connect(aged.paths.warehouse, read_only=True) as con:
            exact = con.sql(
                "select platform, account_id, item_id, date, views, likes, comments, shares "
                "from intermediate.int_item_daily where platform in ('instagram', "
                "'facebook', 'tiktok') and not is_interpolated"
            ).df()
            days, interpolated = con.sql(
                "select count(*), count(*) filter (where is_interpolated) "
                "from intermediate.int_item_daily where platform in ('instagram', "
                "'facebook', 'tiktok')"
            ).fetchall()[0]
            lifetime = con.sql(
                "with reads as (select item_id, snapshot_date from staging.stg_instagram__snapshots "
                "union all select item_id, snapshot_date from staging.stg_facebook__snapshots "
                "union all select item_id, snapshot_date from staging.stg_tiktok__snapshots) "
                "select d.item_id, max(r.last_read) as last_read, sum(d.views) as views, "
                "sum(d.likes) as likes, sum(d.comments) as comments, sum(d.shares) as shares "
                "from intermediate.int_snapshot_daily as d join "
                "(select item_id, max(snapshot_date) as last_read from reads group by item_id) as r "
                "using (item_id) group by d.item_id"
            ).df()
        wrong_lifetime = 0
        for row in lifetime.itertuples():
            truth_at = social.lifetime(
                social.posts_by_id[row.item_id], row.last_read.date() + timedelta(days=1)
            )
            wrong_lifetime += sum(
                int(getattr(row, m)) != truth_at[m]
                for m in ("views", "likes", "comments", "shares")
            )
        listed = sum(len(social.visible_posts(a, first_night)) for a in social.accounts)
        print(
            f"   posts with snapshots: {len(lifetime):,} (listed at the backfill: {listed:,}); "
            f"lifetime views, likes, comments, shares (sums of deltas) differing from the "
            f"truth at their newest read: "
            f"{wrong_lifetime}"
        )
        exact["date"] = exact["date"].dt.date
        merged = exact.merge(
            truth, on=["platform", "account_id", "item_id", "date"], suffixes=("", "_t")
        )
        wrong = sum(
            int((merged[m] != merged[f"{m}_t"]).sum())
            for m in ("views", "likes", "comments", "shares")
        )
        print(
            f"   post-days {days:,}: {days - interpolated:,} from consecutive snapshots, "
            f"{interpolated:,} interpolated"
        )
        print(
            f"   exact post-days matched to the truth: {len(merged):,} of {len(exact):,}; "
            f"metric values differing: {wrong}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
