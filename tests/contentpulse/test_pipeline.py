"""The pipeline's steps as functions: their one-line summaries, the windows a night and a
backfill read, and the mistakes they stop on before any request. (Whole nights through
these steps: tests/e2e/; their failure modes: tests/reliability/.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.errors import ContentpulseError
from contentpulse.streams import Window
from tests.conftest import END


def test_a_steps_line_says_what_it_did_with_rows_calls_and_seconds():
    step = pipeline.StepResult("extract", "youtube 2 accounts", rows=12345, calls=67, seconds=8.04)
    assert step.line() == "extract: youtube 2 accounts (12,345 rows, 67 API calls, 8.0 s)"
    assert pipeline.StepResult("load", rows=0, seconds=0.26).line() == "load: (0 rows, 0.3 s)"


def test_run_ids_name_their_kind_and_never_repeat():
    ids = {pipeline.new_run_id("night") for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("night__") for i in ids)


def test_a_night_rereads_each_sources_lookback_ending_on_the_run_date(tmp_path):
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        "sources:\n"
        "  youtube:\n    lookback_days: 3\n"
        "    accounts: [{id: UCtest, name: Test, timezone: UTC, conn_id: yt}]\n"
        "  tiktok:\n    lookback_days: 1\n"
        "    accounts: [{id: shop.tv, name: Shop, timezone: UTC, conn_id: tt}]\n",
        encoding="utf-8",
    )
    cfg = load_config(path)
    night = date(2026, 11, 22)
    assert pipeline.night_window(cfg, "youtube", night) == Window(date(2026, 11, 20), night)
    assert pipeline.night_window(cfg, "tiktok", night) == Window(night, night)


def test_a_backfill_range_is_both_dates_or_neither_and_each_mistake_is_one_line():
    assert pipeline.backfill_range(None, "") is None
    assert pipeline.backfill_range("2026-01-01", "2026-01-31") == Window(
        date(2026, 1, 1), date(2026, 1, 31)
    )
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    for start, end, error in (
        ("2026-01-01", None, "give both Backfill from and Backfill to, or neither"),
        ("", "2026-01-31", "give both Backfill from and Backfill to, or neither"),
        ("2026-13-01", "2026-01-31", "not a date"),
        ("2026-02-01", "2026-01-31", "the end 2026-01-31 is before the start 2026-02-01"),
        ("2026-01-01", tomorrow, f"the end {tomorrow} is in the future"),
    ):
        with pytest.raises(ContentpulseError, match=error) as raised:
            pipeline.backfill_range(start, end)
        assert "\n" not in str(raised.value)


def test_a_reversed_backfill_stops_before_any_request(cfg, sandbox):
    with pytest.raises(ContentpulseError, match="is before --start"):
        pipeline.backfill(cfg, END, END - timedelta(days=1))
    assert not sandbox.received  # not one request reached the APIs


def test_an_accounts_failure_raises_its_one_line_for_airflow(cfg, sandbox):
    night = pipeline.night_window(cfg, "youtube", END)
    with pytest.raises(ContentpulseError) as raised:
        pipeline.extract_account(cfg, "youtube", "UCnoSuchChannel000000000", night, "night")
    assert "UCnoSuchChannel000000000" in str(raised.value) and "\n" not in str(raised.value)
    step = pipeline.extract_account(cfg, "youtube", cfg.sources.youtube.accounts[0].id, night, "n")
    assert step.rows > 0 and not step.errors


def test_report_send_with_nothing_to_deliver_to_stops_before_building(cfg):
    with pytest.raises(ContentpulseError, match="deliver: nothing to deliver to"):
        pipeline.report_and_send(cfg, send=True)
    assert not cfg.paths.reports.exists() or not any(cfg.paths.reports.iterdir())


def test_a_landing_check_reads_every_file_and_names_none_when_all_parse(cfg, sandbox):
    pipeline.extract(cfg, {"youtube": pipeline.night_window(cfg, "youtube", END)}, "night")
    step = pipeline.landing_check(cfg)
    files = len(list(cfg.paths.landing.rglob("*.parquet")))
    assert files > 0 and step.detail == f"{files:,} landing files read, 0 unreadable"
    assert not step.errors
