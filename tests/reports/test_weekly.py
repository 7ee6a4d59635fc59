"""The weekly report's own logic on hand-made inputs: which week, the KPI tiles and account
rows (a change is shown only between measured weeks), how NULLs print, the index of weeks,
and the one-line refusals. (A whole report from a real night: tests/e2e/test_demo.py and
tests/reports/test_report_browser.py.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from contentpulse.errors import ContentpulseError
from reports import weekly

W46, W47 = date(2026, 11, 9), date(2026, 11, 16)


def test_a_week_is_an_iso_week_and_anything_else_is_one_line():
    assert weekly.parse_week("2026-W47") == (W47, W47 + timedelta(days=6))
    assert weekly.week_of(date(2026, 1, 1)) == "2026-W01"
    assert weekly.week_of(date(2027, 1, 1)) == "2026-W53"
    with pytest.raises(ContentpulseError, match="'2026-47' is not an ISO week like 2026-W47"):
        weekly.parse_week("2026-47")
    with pytest.raises(ContentpulseError, match="week '2025-W53' does not exist"):
        weekly.parse_week("2025-W53")


@pytest.mark.parametrize(
    ("data_through", "week"),
    [
        (date(2026, 11, 22), "2026-W47"),  # a Sunday: its own week is complete
        (date(2026, 11, 21), "2026-W46"),  # a Saturday: the week before
        (date(2026, 11, 23), "2026-W47"),  # a Monday
    ],
)
def test_the_default_week_is_the_last_one_the_data_reaches_the_sunday_of(data_through, week):
    assert weekly.last_complete_week(data_through) == week


def kpi_weeks(**this_week) -> pd.DataFrame:
    """Two accounts' last two weeks, as reports/sql/kpi_weeks.sql gives them."""
    rows = []
    for name, base in (("Rio", 1000), ("North", 3000)):
        for monday, views in ((W46, base), (W47, int(base * 1.5))):
            rows.append(
                {
                    "platform": "youtube",
                    "account_id": f"UC_{name}",
                    "account_name": name,
                    "week_start": monday,
                    "views": views,
                    "views_estimated": 0,
                    "watch_hours": views / 100,
                    "watch_hours_estimated": 0.0,
                    "followers_net": 10,
                    "posts": 2,
                    "is_complete": True,
                }
            )
    frame = pd.DataFrame(rows)
    for column, value in this_week.items():
        frame.loc[(frame.week_start == W47) & (frame.account_name == "Rio"), column] = value
    return frame


def test_tiles_sum_the_accounts_and_compare_measured_weeks():
    tiles = {t["label"]: t for t in weekly._tiles(kpi_weeks(), W47)}
    assert tiles["Views"]["value"] == "6,000" and tiles["Views"]["change"] == pytest.approx(50)
    assert tiles["Net followers"]["value"] == "+20" and tiles["Net followers"]["change"] == 0
    assert tiles["Views"]["spark"].startswith("<svg") and not tiles["Views"]["change_withheld"]
    assert weekly._tiles(kpi_weeks(), W47 + timedelta(days=7)) == []  # a week not in the data


def test_a_week_estimated_in_part_shows_its_share_and_withholds_the_change():
    tiles = {t["label"]: t for t in weekly._tiles(kpi_weeks(views_estimated=600), W47)}
    views = tiles["Views"]
    assert (views["estimated"], views["estimated_share"]) == (600, pytest.approx(0.1))
    assert views["change"] is None and views["change_withheld"]
    rows = {r["account_name"]: r for r in weekly._account_rows(kpi_weeks(views_estimated=600), W47)}
    assert rows["Rio"]["change"] is None and rows["Rio"]["change_withheld"]
    assert rows["North"]["change"] == pytest.approx(50) and not rows["North"]["change_withheld"]
    assert rows["Rio"]["views_estimated"] == 600


def test_an_unreported_metric_prints_as_a_dash_never_nan():
    rows = weekly._account_rows(kpi_weeks(views=None, watch_hours=None), W47)
    rio = next(r for r in rows if r["account_name"] == "Rio")
    assert (rio["views"], rio["watch_hours"], rio["change"]) == (None, None, None)
    assert weekly._count(None) == weekly._count(float("nan")) == weekly._percent(pd.NA) == "—"
    assert (weekly._count(1234.6), weekly._count(-5, sign=True)) == ("1,235", "-5")
    assert weekly._percent(0.1234, 1) == "12.3 %"
    frame = pd.DataFrame({"a": [1.5, None], "b": [pd.NaT, pd.Timestamp("2026-11-16")]})
    frame["c"] = [["x"], None]
    assert weekly.records(frame) == [
        {"a": 1.5, "b": None, "c": ["x"]},
        {"a": None, "b": pd.Timestamp("2026-11-16"), "c": None},
    ]


def test_the_index_lists_every_week_newest_first(tmp_path):
    for week in ("2026-W45", "2026-W47", "2026-W46"):
        (tmp_path / f"weekly-{week}.html").write_text("<html></html>")
    (tmp_path / "notes.html").write_text("not a week")
    page = weekly.write_index(tmp_path, weekly.environment()).read_text(encoding="utf-8")
    positions = [
        page.index(f'href="weekly-{w}.html"') for w in ("2026-W47", "2026-W46", "2026-W45")
    ]
    assert positions == sorted(positions) and "notes.html" not in page


def snapshot(tmp_path: Path, days: list[date]) -> Path:
    path = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.post_daily (date date)")
        for day in days:
            con.execute("insert into marts.post_daily values (?)", [day])
    return path


def test_a_snapshot_without_daily_data_is_one_line_and_writes_no_page(tmp_path):
    db = snapshot(tmp_path, [])
    with pytest.raises(ContentpulseError, match="holds no daily data yet"):
        weekly.build_report(db, tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


def test_a_week_outside_the_snapshot_is_one_line_naming_what_it_holds(tmp_path):
    db = snapshot(tmp_path, [date(2026, 11, 2), date(2026, 11, 22)])
    with pytest.raises(ContentpulseError) as raised:
        weekly.build_report(db, tmp_path / "reports", "2026-W49")
    assert str(raised.value) == (
        "report: week 2026-W49 (2026-11-30 to 2026-12-06) has no data: the snapshot holds "
        "2026-11-02 to 2026-11-22; no page written"
    )
    assert not (tmp_path / "reports").exists()
