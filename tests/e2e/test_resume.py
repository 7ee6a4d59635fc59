"""Quota-limited backfills stop cleanly and finish over later runs, to the same tables."""

from __future__ import annotations

from pathlib import Path

from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.demo import write_sandbox_config
from tests.e2e.test_night import MARTS, checksums


def with_youtube(cfg, **changes):
    youtube = cfg.sources.youtube.model_copy(update=changes)
    return cfg.model_copy(update={"sources": cfg.sources.model_copy(update={"youtube": youtube})})


def unlimited_marts(tmp_path: Path, sandbox) -> dict:
    cfg = load_config(write_sandbox_config(tmp_path / "ref.yml", sandbox, tmp_path / "ref"))
    steps = pipeline.backfill(
        cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False
    )
    assert not any(s.errors for s in steps)
    return checksums(cfg.paths.analytics, MARTS)


def extract_logs_per_window(cfg) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in cfg.paths.landing.glob(
        "source=youtube/stream=extract_log/account=*/window=*/*.parquet"
    ):
        key = f"{f.parent.parent.name}/{f.parent.name}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_a_budget_below_the_backfill_stops_and_later_runs_finish_it(tmp_path, cfg, sandbox):
    reference = unlimited_marts(tmp_path, sandbox)
    limited = with_youtube(cfg, budget_analytics_queries=60)
    runs = []
    for _ in range(12):
        extract = pipeline.backfill(
            limited, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False
        )[0]
        runs.append(extract)
        if not extract.errors:
            break
    assert len(runs) > 2, "the budget was meant to be too small for one run"
    first_error = runs[0].errors[0]
    assert (
        "analytics_queries budget of 60 units is spent; the next run resumes from here"
        in first_error
    )
    assert "units left for the next run" in first_error and "\n" not in first_error
    assert not runs[-1].errors
    assert checksums(limited.paths.analytics, MARTS) == reference
    # every chunk was completed exactly once: finished work is never redone
    assert set(extract_logs_per_window(limited).values()) == {1}


def test_platform_quota_exhaustion_resumes_to_the_same_tables(tmp_path, cfg, sandbox):
    reference = unlimited_marts(tmp_path, sandbox)
    sandbox.quota_used.clear()
    sandbox.daily_quota = 3  # enough for one channel's metadata, not the second's
    first = pipeline.backfill(
        cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False
    )
    assert any("daily quota exhausted (403 quotaExceeded)" in e for e in first[0].errors)
    assert first[-1].step == "publish"  # what did land is still published
    sandbox.daily_quota = 10_000  # the quota resets at midnight Pacific
    second = pipeline.backfill(
        cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False
    )
    assert not second[0].errors
    assert checksums(cfg.paths.analytics, MARTS) == reference
    assert set(extract_logs_per_window(cfg).values()) == {1}
