"""`contentpulse demo`: the whole night against the sandbox, with no credentials.

Starts the sandbox (the YouTube channels, the publisher's GA4 property whose pages are the
same stories, an Instagram account, a Facebook page and a TikTok account that repost some
of them) on a free loopback port, writes a config for it, drops LinkedIn and X exports in
the CSV inbox, backfills the demo portfolio's history on the first run (later runs of the
same day only run the night), checks, publishes, reports, and stops the sandbox. Leaves no
process behind.

Instagram, Facebook and TikTok show lifetime counters only: a first run can read today's
totals, not the past days'. So that the demo shows what a pipeline running for a while has
(exact daily figures for the recent days, not only interpolated history), its first run
replays the last week of nightly reads of those accounts, with the sandbox's clock set
back one day at a time, before the backfill; and the CSV inbox gets the exports of the
last three weeks.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from contentpulse.config import Config, load_config
from contentpulse.credentials import env_var
from contentpulse.pipeline import (
    Progress,
    StepResult,
    backfill,
    extract_source,
    new_run_id,
    night_window,
    run_night,
)
from contentpulse.registry import connector, connectors
from sandbox import Portfolio, Sandbox
from sandbox.configs import CONN_IDS, SOURCES
from sandbox.csv_exports import ExportPortfolio
from sandbox.ga4_portfolio import Ga4Portfolio
from sandbox.social_portfolio import SocialPortfolio

CONNECTIONS_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "connections.json"
SANDBOX_CONN_ID = CONN_IDS["youtube"]
GA4_SANDBOX_CONN_ID = CONN_IDS["ga4"]
SOCIAL_CONN_IDS = {p: CONN_IDS[p] for p in ("instagram", "facebook", "tiktok")}
EXAMPLE_QUERY = (
    "select title, format, views_d7, round(performance_index, 2) as perf_index "
    "from marts.post_performance where performance_index is not null "
    "order by performance_index desc limit 5"
)


def use_sandbox_connections() -> None:
    """Export the sandbox's fake connections as AIRFLOW_CONN_* (Airflow's own format)."""
    for conn_id, conn in json.loads(CONNECTIONS_FILE.read_text()).items():
        os.environ.setdefault(env_var(conn_id), json.dumps(conn))


def write_sandbox_config(
    path: Path,
    sandbox: Sandbox,
    data_dir: Path,
    lookback_days: int = 3,
    exports: ExportPortfolio | None = None,
) -> Path:
    """A contentpulse.yml whose accounts are the sandbox's: a section for every registered
    platform the sandbox serves (sandbox/configs.py), in the registry's order."""
    sections = {
        platform: SOURCES[platform](sandbox, lookback_days, data_dir, exports)
        for platform in connectors()
        if platform in SOURCES
    }
    config = {
        "paths": {
            "landing": str(data_dir / "landing"),
            "warehouse": str(data_dir / "warehouse.duckdb"),
            "analytics": str(data_dir / "analytics.duckdb"),
            "reports": str(data_dir / "reports"),
        },
        "history_start": sandbox.portfolio.start.isoformat(),
        "sources": {p: section for p, section in sections.items() if section is not None},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by contentpulse for the local sandbox; safe to delete.\n"
    path.write_text(
        header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path


def replay_social_nights(
    cfg: Config, sandbox: Sandbox, today: date, nights: int = 7, progress: Progress | None = None
) -> None:
    """The last `nights` nightly reads of the lifetime-counter accounts, each at its own
    morning (the sandbox's clock set back), so consecutive snapshots exist for those days."""
    platforms = [p for p, _ in cfg.iter_sources() if not connector(p).reads_history]
    try:
        for k in range(nights, 0, -1):
            sandbox.clock = today - timedelta(days=k)
            day = sandbox.clock - timedelta(days=1)
            if progress:
                progress(f"replaying the social accounts' night of {day}")
            for platform in platforms:
                ids = [a.id for a in dict(cfg.iter_sources())[platform].accounts]
                window = night_window(cfg, platform, day)
                extract_source(cfg, platform, ids, window, new_run_id("replay"))
    finally:
        sandbox.clock = today


def run_demo(
    workdir: Path, progress: Progress | None = None, today: date | None = None
) -> tuple[Config, list[StepResult]]:
    today = today or datetime.now(UTC).date()
    night = today - timedelta(days=1)
    data_dir = workdir / "data"
    anchor_file = workdir / "anchor.txt"
    if anchor_file.exists() and anchor_file.read_text().strip() != night.isoformat():
        shutil.rmtree(data_dir, ignore_errors=True)  # another day's portfolio: start over
    first_run = not (data_dir / "analytics.duckdb").exists()
    use_sandbox_connections()
    portfolio = Portfolio.demo(end=night)
    social = SocialPortfolio.demo(portfolio)
    exports = ExportPortfolio.demo(night)
    ga4 = Ga4Portfolio.demo(portfolio)
    with Sandbox(portfolio, clock=today, ga4=ga4, social=social) as sandbox:
        cfg = load_config(
            write_sandbox_config(
                workdir / "contentpulse.yml", sandbox, data_dir.resolve(), exports=exports
            )
        )
        inbox = data_dir / "inbox"
        for weeks_ago in (2, 1, 0):
            day = night - timedelta(days=7 * weeks_ago)
            for account_id in exports.specs:
                if not (inbox / account_id / exports.file_name(account_id, day)).exists():
                    exports.write(inbox / account_id, account_id, day)
        if first_run:
            replay_social_nights(cfg, sandbox, today, progress=progress)
            steps = backfill(cfg, portfolio.start, night, progress=progress)
        else:
            steps = run_night(cfg, night, progress=progress)
    anchor_file.write_text(night.isoformat())
    return cfg, steps
