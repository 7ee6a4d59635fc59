"""The weekly report in a real headless Chromium: offline, error-free, charts drawn, titles inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contentpulse import pipeline
from contentpulse.warehouse import connect
from tests.browser import launch

HOSTILE = [
    '<script>window.__pwned = "script"</script>',
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "</script><script>window.__pwned = 'breakout'</script>",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[str]]:
    from contentpulse.config import load_config
    from contentpulse.demo import write_sandbox_config
    from sandbox import Sandbox
    from tests.conftest import CLOCK, small_portfolio

    tmp = tmp_path_factory.mktemp("report")
    with Sandbox(small_portfolio(), clock=CLOCK) as sandbox:
        cfg = load_config(write_sandbox_config(tmp / "contentpulse.yml", sandbox, tmp / "data"))
        pipeline.backfill(cfg, sandbox.portfolio.start, sandbox.portfolio.end, with_report=False)
    # Hostile titles on the items the report is sure to show: the top and bottom of the ranking.
    with connect(cfg.paths.analytics) as con:
        ranked = [
            r[0]
            for r in con.sql(
                "select item_id from marts.post_performance where performance_index is not null "
                "and published_date >= (select max(date) from marts.post_daily) - interval 50 days "
                "order by performance_index desc"
            ).fetchall()
        ]
        targets = [ranked[0], ranked[1], ranked[-1]]
        for item_id, title in zip(targets, HOSTILE, strict=True):
            for table in ("marts.post_performance", "marts.posts"):
                con.execute(f"update {table} set title = ? where item_id = ?", [title, item_id])
    out = pipeline.report(cfg)
    return Path(out.outputs["path"]), HOSTILE


@pytest.fixture(scope="module")
def page_events(report):
    from playwright.sync_api import sync_playwright

    path, _ = report
    events: dict[str, list] = {"console": [], "requests": [], "errors": [], "dialogs": []}
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.on("console", lambda m: events["console"].append((m.type, m.text)))
        page.on("request", lambda r: events["requests"].append(r.url))
        page.on("pageerror", lambda e: events["errors"].append(str(e)))
        page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        events["charts"] = page.eval_on_selector_all(
            ".js-plotly-plot",
            "els => els.map(e => e.querySelectorAll('svg.main-svg path, svg.main-svg text').length)",
        )
        events["pwned"] = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        events["text"] = page.inner_text("body")
        events["chart_ids"] = page.eval_on_selector_all(
            ".js-plotly-plot", "els => els.map(e => e.id)"
        )
        events["chart_data"] = page.evaluate(
            "JSON.stringify([...document.querySelectorAll('.js-plotly-plot')].map(d => d.data))"
        )
        # the account filter: untick the first account, everything of it hides, the rest stays
        box = page.locator("input[data-filter=account]").first
        account = box.get_attribute("value")
        box.uncheck()
        page.wait_for_timeout(300)
        events["filtered"] = page.evaluate(
            """account => ({
                tracesOff: [...document.querySelectorAll('.js-plotly-plot')].flatMap(d =>
                    d.data.filter(t => t.meta && t.meta[1] === account).map(t => t.visible)),
                tracesOthers: [...document.querySelectorAll('.js-plotly-plot')].flatMap(d =>
                    d.data.filter(t => t.meta && t.meta[1] !== account).map(t => t.visible)),
                rowsOff: [...document.querySelectorAll('[data-account]')]
                    .filter(e => e.dataset.account === account).map(e => e.hidden),
                rowsOthers: [...document.querySelectorAll('[data-account]')]
                    .filter(e => e.dataset.account !== account).map(e => e.hidden),
            })""",
            account,
        )
        events["plotly_scripts"] = page.evaluate(
            "[...document.scripts].filter(s => s.text.includes('Plotly=') || s.text.includes('plotly.js v')).length"
        )
        browser.close()
    return events


@pytest.mark.browser
def test_report_opens_offline_without_console_errors(page_events, report):
    assert page_events["errors"] == []
    assert [m for m in page_events["console"] if m[0] in ("error", "warning")] == []
    assert page_events["requests"] and all(
        u.startswith("file:") for u in page_events["requests"]
    ), page_events["requests"]
    assert page_events["plotly_scripts"] == 1, "plotly.js is inlined exactly once"


@pytest.mark.browser
def test_every_chart_renders(page_events):
    ids = set(page_events["chart_ids"])
    assert {"chart-daily", "chart-performance-index", "chart-segments"} <= ids
    assert any(i.startswith("chart-release-") for i in ids), ids
    assert all(n > 10 for n in page_events["charts"]), page_events["charts"]


def test_the_heatmap_is_a_table_of_coloured_cells_one_column_per_account(report):
    """The platform x format x account heatmap needs no heatmap trace (not in the basic
    plotly.js bundle): a table whose cells are the median index, blue above 0, red below."""
    path, _ = report
    html = path.read_text(encoding="utf-8")
    table = re.search(r'<table class="heat">(.*?)</table>', html, re.S)[1]
    header = re.findall(r'<th class="num" data-platform="[^"]+" data-account="([^"]+)">', table)
    assert len(header) == 2, header  # the two channels of the small portfolio
    cells = re.findall(r'style="background: (#[0-9a-f]{6})"[^>]*>([+-]\d\.\d\d)</td>', table)
    assert cells
    for colour, value in cells:
        red, blue = int(colour[1:3], 16), int(colour[5:7], 16)
        assert (blue >= red) if value.startswith("+") else (red >= blue), (colour, value)


def test_the_inlined_plotly_js_is_the_version_python_plotly_ships():
    """The vendored partial bundle must match the figures plotly (Python) writes."""
    from plotly.offline import get_plotlyjs

    from reports.weekly import PLOTLY_JS

    full = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", get_plotlyjs()[:300])[1]
    vendored = PLOTLY_JS.read_text(encoding="utf-8")
    assert re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", vendored[:300])[1] == full
    notes = (PLOTLY_JS.parent / "README.md").read_text(encoding="utf-8")
    assert f"plotly.js-basic-dist-min@{full}" in notes
    assert (PLOTLY_JS.parent / "plotly.js-LICENSE").read_text().startswith("MIT License")


@pytest.mark.browser
def test_hover_text_carries_titles_escaped(page_events):
    data = page_events["chart_data"]
    assert "&lt;img src=x onerror=" in data or "&lt;script&gt;" in data
    assert "<img src=x" not in data and "<script>" not in data


@pytest.mark.browser
def test_account_filter_hides_that_account_everywhere_and_nothing_else(page_events):
    filtered = page_events["filtered"]
    assert filtered["tracesOff"] and all(v is False for v in filtered["tracesOff"])
    assert filtered["rowsOff"] and all(filtered["rowsOff"])
    assert filtered["tracesOthers"] and not any(v is False for v in filtered["tracesOthers"])
    assert not any(filtered["rowsOthers"])


@pytest.mark.browser
def test_hostile_titles_show_as_text_and_run_nothing(page_events, report):
    _, hostile = report
    assert page_events["pwned"] is None
    assert page_events["dialogs"] == []
    for title in hostile:
        assert title in page_events["text"]


def test_report_has_no_external_reference(report):
    path, _ = report
    html = path.read_text(encoding="utf-8")
    # nothing the page loads is external (the browser test proves nothing is fetched)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['\"]?https?:", html)
    # plotly.js is inlined once, and nothing in the page, the library included, names a CDN
    from reports.weekly import PLOTLY_JS

    library = PLOTLY_JS.read_text(encoding="utf-8")
    assert html.count(library) == 1
    assert "cdn" not in html.lower()
    assert (path.parent / "index.html").read_text(encoding="utf-8").count(path.name) == 1
