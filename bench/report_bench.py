"""The weekly report at scale: 20,000 videos x 730 days (the models benchmark's warehouse).

Builds the models benchmark's history first when `--dir` holds none, then renders the
report three times from that warehouse (read-only, as the report reads a snapshot) and
prints build time, file size, plotly.js's share of it and peak memory. Goal: under 10 s and
under 3 MB. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="a models benchmark's work dir (reused)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="report-bench-"))
    warehouse = work / "warehouse.duckdb"
    if not warehouse.exists():
        print(f"== building the 20,000-video history in {work} (bench/models_bench.py) ==")
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "models_bench.py"), "--dir", str(work)],
            check=True,
        )
    from contentpulse.warehouse import connect
    from reports.weekly import PLOTLY_JS, build_report

    with connect(warehouse, read_only=True) as con:
        posts, days = con.sql(
            "select (select count(*) from marts.posts), (select count(*) from marts.post_daily)"
        ).fetchall()[0]
    out_dir = work / "reports"
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        out = build_report(warehouse, out_dir)
        runs.append(time.perf_counter() - started)
    size = out.path.stat().st_size
    plotly = PLOTLY_JS.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"== weekly report {out.week}: {posts:,} posts, {days:,} post-days ==")
    print(f"build: median {statistics.median(runs):.2f} s of {[round(r, 2) for r in runs]}")
    print(
        f"file: {size / 1e6:.2f} MB ({plotly / 1e6:.2f} MB plotly.js, "
        f"{(size - plotly) / 1e6:.2f} MB report), {out.rows:,} rows read"
    )
    print(f"peak RSS {peak:,.0f} MiB")
    print("goal: under 10 s and under 3 MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
