"""The report's charts on hand-made frames: sparklines, the heatmap table's colours, the
new-release charts, and platform text escaped wherever Plotly would render it as HTML.
(Drawn in a real browser: tests/reports/test_report_browser.py.)"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
import pytest

from reports import charts

HOSTILE = '<img src=x onerror="alert(1)">'


def test_a_sparkline_spans_its_box_lowest_at_the_bottom_and_ends_on_a_dot():
    svg = charts.sparkline([10, 30, float("nan"), 20, None], width=90, height=24)
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    assert points == ["0.0,22.0", "45.0,2.0", "90.0,12.0"]  # NaN and None are left out
    assert '<circle cx="90.0" cy="12.0"' in svg and 'aria-label="last 3 weeks"' in svg
    flat = charts.sparkline([5, 5])
    assert re.search(r'points="([^"]+)"', flat).group(1) == "0.0,22.0 96.0,22.0"
    assert charts.sparkline([7]) == "" and charts.sparkline([]) == ""


def test_the_diverging_colour_runs_red_white_blue_and_clips():
    assert charts.diverging(0) == "#ffffff"
    assert charts.diverging(1) == charts.diverging(3) == "#2166ac"
    assert charts.diverging(-1) == charts.diverging(-9) == "#b2182b"
    assert charts.diverging(0.5) == "#90b2d6"


def test_the_heatmap_is_one_row_per_platform_and_format_one_column_per_account():
    heat = pd.DataFrame(
        {
            "platform": ["youtube", "youtube", "tiktok"],
            "format": ["short", "video", "video"],
            "account_name": ["Rio", "North", "Rio"],
            "items": [4, 9, 2],
            "median_index": [1.0, -0.25, 0.1],
        }
    )
    table = charts.heatmap_table(heat)
    assert table["columns"] == [
        {"platform": "tiktok", "account_name": "Rio"},
        {"platform": "youtube", "account_name": "North"},
        {"platform": "youtube", "account_name": "Rio"},
    ]
    labels = [row["label"] for row in table["rows"]]
    assert labels == ["tiktok · video", "youtube · short", "youtube · video"]
    short_row = table["rows"][1]["cells"]
    assert [c["value"] for c in short_row] == [None, None, 1.0]  # no such release: empty
    strongest = short_row[2]
    assert (strongest["items"], strongest["background"], strongest["light_text"]) == (
        4,
        "#2166ac",  # the largest |index| sets the scale
        True,
    )
    assert short_row[0]["background"] is None and not short_row[0]["light_text"]


def releases(account: str, items: int, start: date) -> pd.DataFrame:
    rows = []
    for i in range(items):
        published = start + timedelta(days=i)
        for age in range(3):
            rows.append(
                {
                    "platform": "youtube",
                    "account_id": f"UC_{account}",
                    "account_name": account,
                    "item_id": f"{account}{i}",
                    "title": HOSTILE if i == items - 1 else f"release {i}",
                    "format": "short",
                    "published_date": published,
                    "age_days": age,
                    "cumulative_views": 100 * (age + 1),
                }
            )
    return pd.DataFrame(rows)


def test_new_release_charts_show_the_newest_releases_against_the_peers_band():
    frame = pd.concat(
        [releases("Rio", 10, date(2026, 11, 1)), releases("Kumo", 2, date(2026, 11, 9))]
    )
    bands = pd.DataFrame(
        {
            "platform": "youtube",
            "account_id": "UC_Rio",
            "format": "short",
            "age": [0, 1, 2],
            "p20": [50, 90, 120],
            "p50": [80, 150, 200],
            "p80": [120, 220, 300],
            "peers": 12,
        }
    )
    made = charts.new_release_charts(frame, bands, per_chart=8)
    assert [(p, a, f) for p, a, f, _ in made] == [
        ("youtube", "Kumo", "short"),
        ("youtube", "Rio", "short"),
    ]
    kumo, rio = (fig for *_, fig in made)
    assert [t.name for t in kumo.data] == ["release 0", charts.esc(HOSTILE)]  # no peers: no band
    names = [t.name for t in rio.data]
    assert names[1:3] == ["peers P20-P80", "peer median"] and len(names) == 3 + 8
    assert names[3:] == [*(f"release {i}" for i in range(2, 9)), charts.esc(HOSTILE)]
    assert all(list(t.meta) == ["youtube", "Rio"] for t in rio.data)
    assert HOSTILE not in rio.to_json()


@pytest.mark.parametrize(
    ("title", "shown"),
    [("short title", "short title"), ("x" * 70, "x" * 59 + "…"), (None, "None")],
)
def test_titles_are_shortened_to_a_limit(title, shown):
    assert charts.short(title) == shown


def test_every_account_keeps_its_colour_whatever_the_order():
    first = charts.colours(["b", "a", "c", "a"])
    assert first == charts.colours(["c", "b", "a"]) and len(set(first.values())) == 3
