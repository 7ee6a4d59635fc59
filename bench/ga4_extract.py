"""GA4 extraction at scale against the sandbox: prints figures, asserts nothing.

1. A backfill of 2 properties / 30,000 pages / 400 days: wall time, rows, runReport calls
   and property tokens against the minimum the API allows (the same month chunks, windows
   under the sampling limit, 250,000 rows a page), and against the absolute minimum (no
   month chunks); the staged page-days compared with the sandbox's ground truth.
2. The same backfill again: a resumed run skips every finished chunk.
3. A fresh backfill of the first 120 days under a daily token quota too small for it: it
   stops cleanly, and resumes "the next day" (quota refilled) until done; the warehouse is
   compared with the truth again, and the calls the quota cut short are counted.
4. The next day's night (3 days of lookback): the restated days replace the old values.

The sandbox runs in a child process (its own CPU), as the real API would be elsewhere.

    python bench/ga4_extract.py [--pages 30000] [--days 400] [--sampling-limit 2000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from connectors.ga4 import page_item_id, plan_chunks, plan_windows
from connectors.ga4.settings import PAGE_METRICS, TRAFFIC_METRICS, PagePaths
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.demo import use_sandbox_connections, write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import Portfolio, Sandbox
from sandbox.ga4_portfolio import Ga4Portfolio, PropertySpec

END = date(2026, 11, 20)
CLOCK = END + timedelta(days=1)  # GA4 serves yesterday
PAGES = ["date", "hostName", "pagePath", "pageTitle"]
TRAFFIC = ["date", "hostName", "pagePath", "sessionSource", "sessionMedium", "sessionCampaignName"]
PAGE_MAX, TOKENS_PER = 250_000, 10_000


def portfolios(pages: int, days: int) -> tuple[Portfolio, Ga4Portfolio]:
    start = END - timedelta(days=days - 1)
    youtube = Portfolio([], start=start, end=END)  # GA4 only
    half = pages // 2 - 11  # each property also has 11 hub pages (home, one per topic)
    ga4 = Ga4Portfolio(
        [
            # the big site: locale prefixes, and a report width that overflows into "(other)"
            PropertySpec(
                "Northwind web",
                half,
                timezone="America/New_York",
                locales=("en",),
                cardinality_limit=4_000,
            ),
            # the smaller one has Google signals on: reports with users are thresholded
            PropertySpec(
                "Kumo web", pages - 22 - half, host="kumo.example", scale=0.6, signals=True
            ),
        ],
        start,
        END,
    )
    return youtube, ga4


def _serve(youtube, ga4, sampling_limit, clock, conn) -> None:
    sandbox = Sandbox(youtube, clock=clock, ga4=ga4)
    sandbox.ga4.sampling_limit_events = sampling_limit
    conn.send(sandbox.port)
    sandbox.serve_forever()


class ChildSandbox:
    """The sandbox in a forked child process; admin calls over HTTP."""

    def __init__(self, youtube, ga4, sampling_limit: int, clock: date) -> None:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(youtube, ga4, sampling_limit, clock, child), daemon=True
        )
        self.process.start()
        self.base_url = f"http://127.0.0.1:{parent.recv()}"
        self.portfolio, self.ga4 = youtube, type("G", (), {"portfolio": ga4})()

    def admin(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        with urllib.request.urlopen(f"{self.base_url}/_sandbox/{path}", data=data) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def _day(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def truth(
    ga4: Ga4Portfolio, clock: date, paths: PagePaths, start: date | None = None, end: date = END
):
    """Per property: item-days and their views (the staging truth), rows per day of each
    report and events per day (what the minimum is computed from); read a month at a time."""
    out = {}
    for prop in ga4.properties:
        pid = prop.property_id
        items: dict[tuple[str, str], int] = defaultdict(int)
        rows_per_day: dict[str, dict[date, int]] = {
            "pages": defaultdict(int),
            "traffic": defaultdict(int),
        }
        other_days: set[date] = set()
        withheld = 0
        for month in Window(start or ga4.start, end).chunks(31):
            pages = ga4.report(pid, PAGES, list(PAGE_METRICS), month.start, month.end, clock)
            for key, values in pages.rows:
                items[(page_item_id(key[1], key[2], paths), key[0])] += int(values[0])
                rows_per_day["pages"][_day(key[0])] += 1
            traffic = ga4.report(pid, TRAFFIC, list(TRAFFIC_METRICS), month.start, month.end, clock)
            for key, _ in traffic.rows:
                rows_per_day["traffic"][_day(key[0])] += 1
            other_days |= pages.other_days | traffic.other_days
            withheld += pages.withheld + traffic.withheld
            del pages, traffic
        out[pid] = {
            "items": items,
            "item_days": len(items),
            "views": sum(items.values()),
            "rows_per_day": rows_per_day,
            "events": ga4.daily_events(pid, clock),
            "other_days": len(other_days),
            "withheld": withheld,
        }
    return out


def minimum(facts: dict, windows_of) -> tuple[int, int]:
    """Calls and tokens of the fewest requests: per window of `windows_of(events)`, one
    request per 250,000 rows of each report; one property-total request per chunk."""
    calls = tokens = 0
    for fact in facts.values():
        for chunk, windows in windows_of(fact["events"]):
            calls, tokens = calls + 1, tokens + 1 + chunk.days // TOKENS_PER
            for report in ("pages", "traffic"):
                per_day = fact["rows_per_day"][report]
                for w in windows:
                    rows = sum(per_day.get(w.start + timedelta(days=i), 0) for i in range(w.days))
                    pages = max(1, -(-rows // PAGE_MAX))
                    calls += pages
                    tokens += pages + rows // TOKENS_PER
    return calls, tokens


def run_backfill(cfg, start: date) -> tuple[float, object]:
    started = time.perf_counter()
    step = pipeline.extract(cfg, {"ga4": Window(start, END)}, "bench", resume=True)
    return time.perf_counter() - started, step


def staged(cfg) -> tuple[int, int, int]:
    with connect(cfg.paths.warehouse, read_only=True) as con:
        got = con.sql(
            "select count(*), coalesce(sum(views), 0) from staging.stg_ga4__page_daily "
            "where not is_other_row"
        ).fetchall()[0]
        dupes = con.sql(
            "select count(*) from (select account_id, date, hostname, pagepath, pagetitle, "
            "extracted_at from raw.ga4__content_daily group by all having count(*) > 1)"
        ).fetchall()[0][0]
    return int(got[0]), int(got[1]), int(dupes)


def runreport_calls(sandbox: ChildSandbox) -> int:
    calls = sandbox.admin("stats")["calls"]
    return sum(n for p, n in calls.items() if p.endswith(":runReport"))


def quota_backfill(sandbox, cfg, ga4, paths, tmp: Path, sampling_limit: int) -> None:
    """The first 120 days again, in a new warehouse, under a small daily token quota."""
    start, end = ga4.start, ga4.start + timedelta(days=119)
    facts = truth(ga4, CLOCK, paths, end=end)
    window = Window(start, end)
    floor_calls, floor_tokens = minimum(
        facts,
        lambda events: [(c, plan_windows(c, events, sampling_limit)) for c in plan_chunks(window)],
    )
    per_day = floor_tokens // 2 * 6 // 10  # each property gets 60 % of what it needs
    print(
        f"\n== a quota-bound backfill: the first 120 days, {per_day:,} tokens a day per property "
        f"(the backfill needs {floor_tokens:,} in all) =="
    )
    data = tmp / "quota"
    # the connector is told the property's quota, so its 10 % reserve is of that
    source = cfg.sources.ga4.model_copy(update={"tokens_per_day": per_day})
    limited = cfg.model_copy(
        update={
            "sources": cfg.sources.model_copy(update={"ga4": source}),
            "paths": cfg.paths.model_copy(
                update={
                    "landing": data / "landing",
                    "warehouse": data / "warehouse.duckdb",
                    "analytics": data / "analytics.duckdb",
                }
            ),
        }
    )

    before = runreport_calls(sandbox)
    sandbox.admin("ga4/quota", {"tokens_per_day": per_day, "reset": True})
    for day in range(1, 8):
        started, calls_before = time.perf_counter(), runreport_calls(sandbox)
        step = pipeline.extract(limited, {"ga4": window}, f"quota-{day}", resume=True)
        stopped = "done"
        if step.errors:
            left = step.errors[0].rsplit("(", 1)[-1].rstrip(")")
            stopped = f"stopped at the quota ({left})"
        print(
            f"day {day}: {runreport_calls(sandbox) - calls_before} runReport calls, {step.rows:,} rows landed, "
            f"{time.perf_counter() - started:.0f} s; {stopped}"
        )
        if not step.errors:
            break
        sandbox.admin("ga4/quota", {"reset": True})  # the next day: the quota refilled
    sandbox.admin("ga4/quota", {"tokens_per_day": 200_000, "reset": True})
    calls = runreport_calls(sandbox) - before
    pipeline.load(limited)
    pipeline.build(limited)
    item_days, views, dupes = staged(limited)
    want = (sum(f["item_days"] for f in facts.values()), sum(f["views"] for f in facts.values()))
    print(
        f"{calls:,} runReport calls in all (minimum {floor_calls:,}; cut short by the quota: "
        f"{calls - floor_calls:,}); warehouse {item_days:,} page-days, {views:,} views -> "
        f"{'EXACT' if (item_days, views) == want else 'DIFFERENT'}; raw duplicates {dupes}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--sampling-limit", type=int, default=2_000_000)
    args = ap.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    use_sandbox_connections()
    youtube, ga4 = portfolios(args.pages, args.days)
    print(f"\n== GA4 backfill: 2 properties, {args.pages:,} pages, {args.days} days ==")
    started = time.perf_counter()
    sandbox = ChildSandbox(youtube, ga4, args.sampling_limit, CLOCK)
    paths = PagePaths(locales=["en"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            cfg = load_config(write_sandbox_config(tmp / "cfg.yml", sandbox, tmp / "data"))
            ga4_src = cfg.sources.ga4.model_copy(
                update={"sampling_event_limit": args.sampling_limit, "concurrency": 4}
            )
            cfg = cfg.model_copy(
                update={"sources": cfg.sources.model_copy(update={"youtube": None, "ga4": ga4_src})}
            )
            facts = truth(ga4, CLOCK, paths)
            print(f"(sandbox and ground truth ready in {time.perf_counter() - started:.0f} s)")
            seconds, step = run_backfill(cfg, ga4.start)
            stats = sandbox.admin("stats")
            calls = sum(n for p, n in stats["calls"].items() if p.endswith(":runReport"))
            tokens = sum(stats.get("ga4_tokens_used", {}).values())
            print(
                f"wall {seconds:.1f} s, {step.rows:,} rows landed ({step.rows / seconds:,.0f} rows/s), "
                f"errors: {step.errors or 'none'}"
            )
            window = Window(ga4.start, END)

            def chunked(events):
                return [
                    (c, plan_windows(c, events, args.sampling_limit)) for c in plan_chunks(window)
                ]

            def whole(events):
                return [(window, plan_windows(window, events, args.sampling_limit))]

            floor_calls, floor_tokens = minimum(facts, chunked)
            abs_calls, abs_tokens = minimum(facts, whole)
            print(
                f"runReport calls: {calls:,} (minimum with month chunks {floor_calls:,}: "
                f"{calls / floor_calls:.2f}x; absolute minimum {abs_calls:,}: {calls / abs_calls:.2f}x)"
            )
            print(
                f"property tokens: {tokens:,} (minimum with month chunks {floor_tokens:,}: "
                f"{tokens / floor_tokens:.2f}x; absolute minimum {abs_tokens:,}: "
                f"{tokens / abs_tokens:.2f}x)"
            )
            print(
                "getMetadata calls: "
                f"{sum(n for p, n in stats['calls'].items() if p.endswith('/metadata'))} (one per property, free)"
            )
            t = time.perf_counter()
            pipeline.load(cfg)
            pipeline.build(cfg)
            item_days, views, dupes = staged(cfg)
            want_days = sum(f["item_days"] for f in facts.values())
            want_views = sum(f["views"] for f in facts.values())
            same = (item_days, views) == (want_days, want_views)
            print(
                f"warehouse {item_days:,} page-days, {views:,} views; sandbox truth {want_days:,} "
                f"page-days, {want_views:,} views -> {'EXACT' if same else 'DIFFERENT'}; "
                f"raw duplicates {dupes} (load + build {time.perf_counter() - t:.0f} s)"
            )
            with connect(cfg.paths.warehouse, read_only=True) as con:
                dq = con.sql(
                    "select account_id, count(*) filter (where is_sampled), "
                    "count(*) filter (where is_thresholded), count(*) filter (where other_row_share > 0), "
                    "round(max(other_row_share), 4) from marts.data_quality where platform = 'ga4' group by 1"
                ).fetchall()
            for pid, sampled, thresholded, other, worst in dq:
                print(
                    f"data_quality {pid}: {sampled} days sampled, {thresholded} thresholded, "
                    f"{other} with an '(other)' row (worst share {worst}); sandbox: "
                    f"{facts[pid]['other_days']} '(other)' days, {facts[pid]['withheld']:,} rows withheld"
                )
            print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")

            print("\n== the same backfill again (resume: finished chunks are skipped) ==")
            seconds, again = run_backfill(cfg, ga4.start)
            after = sandbox.admin("stats")
            more = sum(n for p, n in after["calls"].items() if p.endswith(":runReport")) - calls
            print(f"wall {seconds:.1f} s, {again.rows:,} rows landed, {more} runReport calls")

            quota_backfill(sandbox, cfg, ga4, paths, tmp, args.sampling_limit)

            print("\n== the next night: clock + 1 day, 3 days of lookback ==")
            sandbox.admin("clock", {"today": (CLOCK + timedelta(days=1)).isoformat()})
            t = time.perf_counter()
            reports_before = runreport_calls(sandbox)
            night = pipeline.extract(
                cfg, {"ga4": pipeline.night_window(cfg, "ga4", END + timedelta(days=1))}, "night"
            )
            pipeline.load(cfg)
            pipeline.build(cfg)
            new_clock = CLOCK + timedelta(days=1)
            recent = truth(ga4, new_clock, paths, start=END - timedelta(days=2))
            want = {
                (pid, item, day): views
                for pid, fact in recent.items()
                for (item, day), views in fact["items"].items()
            }
            with connect(cfg.paths.warehouse, read_only=True) as con:
                got = {
                    (pid, item, day.strftime("%Y%m%d")): views
                    for pid, item, day, views in con.sql(
                        "select account_id, item_id, date, views from staging.stg_ga4__page_daily "
                        "where not is_other_row and date >= $d",
                        params={"d": END - timedelta(days=2)},
                    ).fetchall()
                }
                restated = con.sql(
                    "select count(*) from staging.stg_ga4__page_daily where is_restated"
                ).fetchall()[0][0]
            print(
                f"{runreport_calls(sandbox) - reports_before} runReport calls, {night.rows:,} rows, "
                f"{restated:,} restated "
                f"page-days replaced; the last 3 days against the sandbox at the new clock: "
                f"{'EXACT' if got == want else 'DIFFERENT'} ({time.perf_counter() - t:.1f} s "
                "with load and build)"
            )
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
