"""The social platforms' figures against the sandbox's truth: prints figures, asserts nothing.

2 Instagram accounts, a Facebook page and 2 TikTok accounts (one a business account), as
`bench/social_extract.py` has them (fewer posts by default). An onboarding backfill, then
eight weeks of real nights (the sandbox's clock moved on one morning at a time, the re-poll
schedule as configured). Per platform and account it prints:

1. the account-week error against the truth in the first complete week after onboarding,
   and in the last complete week after eight weeks of nights, with the part of each week
   the pipeline declares estimated;
2. the estimator's error on estimated post-days (the decay curve's split of each measured
   interval; WAPE: sum of absolute day errors / the days' true views), against an even split;
3. the findings of the last week's report computed from an estimated figure (the goal: 0);
4. API calls per night.

    python bench/truth_bench.py [--posts 600] [--days 300] [--weeks 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from social_extract import extract_all, social_config

from contentpulse import pipeline
from contentpulse.demo import use_sandbox_connections
from contentpulse.warehouse import connect
from sandbox import Portfolio, Sandbox
from sandbox.social_portfolio import SocialPortfolio

MONDAY = date(2026, 11, 23)  # the morning after the last night: a Monday


def week_errors(cfg, social: SocialPortfolio, monday: date) -> list[tuple]:
    """(platform, account, views, estimated, truth) of every account in the week."""
    pipeline.load(cfg)
    pipeline.build(cfg)
    with connect(cfg.paths.warehouse, read_only=True) as con:
        rows = con.sql(
            "select platform, account_id, views, views_estimated from marts.account_weekly "
            "where week_start = ? order by platform, account_id",
            params=[monday],
        ).fetchall()
    out = []
    for platform, account_id, views, estimated in rows:
        account = social.account(account_id)
        truth = sum(
            social.account_day(account, monday + timedelta(days=d))["views"] for d in range(7)
        )
        out.append((platform, account.name, views, estimated, truth))
    return out


def print_weeks(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    print(
        f"   {'platform':<9} {'account':<16} {'views':>9} {'estimated':>10} {'truth':>9} {'error':>7}"
    )
    for platform, name, views, estimated, truth in rows:
        error = (views - truth) / truth if truth else 0.0
        print(
            f"   {platform:<9} {name:<16} {views:>9,} {estimated:>10,} {truth:>9,} {error:>+7.2%}"
        )


def estimator_error(cfg, social: SocialPortfolio, clock: date) -> None:
    truth = social.daily_truth(clock)
    with connect(cfg.paths.warehouse, read_only=True) as con:
        days = con.sql(
            "select d.platform, d.account_id, d.item_id, d.date, d.views, "
            "i.views / i.gap_days as even "
            "from intermediate.int_snapshot_daily as d "
            "join intermediate.int_snapshot_intervals as i using (platform, account_id, item_id) "
            "where d.is_estimated and d.date > i.previous_date and d.date <= i.snapshot_date"
        ).df()
        backtests = con.sql(
            "select platform, account_id, any_value(curve_source), any_value(posts_fitted), "
            "any_value(backtest_days), any_value(backtest_wape), any_value(backtest_wape_even) "
            "from intermediate.int_decay_curves group by all order by all"
        ).fetchall()
    days["date"] = days["date"].dt.date
    merged = days.merge(
        truth[["platform", "account_id", "item_id", "date", "views"]],
        on=["platform", "account_id", "item_id", "date"],
        suffixes=("", "_truth"),
        how="left",
    ).fillna({"views_truth": 0})
    print("\n2. estimated post-days against the truth (WAPE)")
    print(f"   {'platform':<9} {'post-days':>10} {'decay curve':>12} {'even split':>11}")
    for platform, rows in merged.groupby("platform"):
        total = rows.views_truth.sum()
        curve = (rows.views - rows.views_truth).abs().sum() / total
        even = (rows.even - rows.views_truth).abs().sum() / total
        print(f"   {platform:<9} {len(rows):>10,} {curve:>12.3f} {even:>11.3f}")
    print("   the published backtest (int_decay_curves: out of sample, ages 0-3):")
    for platform, account, source, posts, bt_days, wape, wape_even in backtests:
        shown = "-" if wape is None else f"{wape:.3f} (even {wape_even:.3f})"
        print(
            f"   {platform:<9} {account:<20} curve from {source} ({posts} posts), {bt_days} days: {shown}"
        )


def findings_from_estimates(cfg, monday: date) -> None:
    from reports.findings import findings

    pipeline.check(cfg, monday + timedelta(days=6))
    pipeline.publish(cfg)
    with connect(cfg.paths.analytics, read_only=True) as con:
        found = findings(con, monday, monday + timedelta(days=6))
        estimated = {
            name
            for (name,) in con.sql(
                "select account_name from marts.account_weekly where week_start in (?, ?) "
                "and views_estimated > 0",
                params=[monday, monday - timedelta(days=7)],
            ).fetchall()
        }
        measured = {
            (name, str(day))
            for name, day in con.sql(
                "select account_name, date from marts.account_daily where views_estimated = 0"
            ).fetchall()
        }
    shown = [f for f in [found.headline, *found.supporting] if f]
    bad = 0
    for finding in shown:
        if finding.rule == "kpi_move":
            bad += bool({a["account_name"] for a in finding.evidence["accounts"]} & estimated)
        if finding.rule == "anomaly" and finding.evidence["level"] == "account":
            bad += (finding.evidence["account_name"], finding.evidence["date"]) not in measured
    print(f"\n3. findings of the week {monday}: {len(shown)}, computed from an estimate: {bad}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args()
    use_sandbox_connections()
    onboarded = MONDAY - timedelta(days=7 * args.weeks)
    social = SocialPortfolio.bench(MONDAY - timedelta(days=1), days=args.days, posts=args.posts)
    youtube = Portfolio([], start=social.start, end=MONDAY - timedelta(days=1))
    first_monday = onboarded + timedelta(days=(7 - onboarded.weekday()) % 7)
    print(
        f"portfolio: {len(social.accounts)} accounts, {args.posts:,} posts each over "
        f"{args.days} days; onboarded the morning of {onboarded}, {args.weeks} weeks of nights"
    )
    calls: dict[str, list[int]] = defaultdict(list)
    with (
        tempfile.TemporaryDirectory(prefix="cp-truth-bench-") as tmp,
        Sandbox(youtube, clock=onboarded, social=social) as sandbox,
    ):
        cfg = social_config(Path(tmp) / "truth.yml", sandbox, Path(tmp) / "truth")
        started = time.perf_counter()
        extract_all(cfg, sandbox, onboarded - timedelta(days=1), window_start=social.start)
        print(f"onboarding backfill: {time.perf_counter() - started:.1f} s")
        for k in range(1, (MONDAY - onboarded).days + 1):
            sandbox.clock = onboarded + timedelta(days=k)
            for platform, (n, _, _) in extract_all(
                cfg, sandbox, sandbox.clock - timedelta(days=1)
            ).items():
                calls[platform].append(n)
            if sandbox.clock == first_monday + timedelta(days=7):
                print_weeks(
                    f"1a. the first complete week after onboarding ({first_monday})",
                    week_errors(cfg, social, first_monday),
                )
        last_monday = MONDAY - timedelta(days=7)
        print_weeks(
            f"1b. after {args.weeks} weeks of nights: the week of {last_monday}",
            week_errors(cfg, social, last_monday),
        )
        estimator_error(cfg, social, MONDAY)
        findings_from_estimates(cfg, last_monday)
    print("\n4. API calls per night (mean over the nights)")
    for platform, per_night in calls.items():
        print(f"   {platform:<9} {sum(per_night) / len(per_night):>7.1f}")
    print(f"   {'all':<9} {sum(map(sum, calls.values())) / len(calls['instagram']):>7.1f}")


if __name__ == "__main__":
    main()
