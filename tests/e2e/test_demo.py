"""`contentpulse demo` as a newcomer runs it: exits 0, prints where things are and a query that works
in the duckdb CLI, leaves no process behind, and a second run does only the night."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def children_of(pid: int) -> list[str]:
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    )
    return [line for line in out.stdout.splitlines() if "ps -o" not in line]


def listening_ports() -> dict[int, str]:
    """Listening TCP ports, each with the command line of the process that holds it (other
    jobs on the machine may open their own: only a demo's leftover counts)."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    owners: dict[int, str] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmdline = (fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                    owners[inodes[target[8:-1]]] = cmdline.decode(errors="replace")
        except OSError:
            continue
    return {port: owners.get(port, "") for port in inodes.values()}


def run_demo(workdir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.run(
        [str(BIN / "contentpulse"), "demo", "--dir", str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=workdir.parent,
    )


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("newcomer") / "demo"
    ports_before = listening_ports()
    first = run_demo(workdir)
    second = run_demo(workdir)
    after = listening_ports()
    leftovers = {p: cmd for p, cmd in after.items() if p not in ports_before and "demo" in cmd}
    return workdir, first, second, leftovers


def test_demo_exits_0_and_prints_where_things_are(demo_runs):
    workdir, first, _, _ = demo_runs
    assert first.returncode == 0, first.stderr[-3000:]
    report = re.search(r"^Report:\s+(\S+)$", first.stdout, re.M)
    db = re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)
    assert report and db, first.stdout
    assert (workdir.parent / report[1]).exists() and (workdir.parent / db[1]).exists()


def test_printed_query_works_in_the_duckdb_cli(demo_runs):
    workdir, first, _, _ = demo_runs
    lines = first.stdout.splitlines()
    command = lines[lines.index("Try a query:") + 1].strip()
    argv = shlex.split(command)
    assert Path(argv[0]).name == "duckdb"
    argv[0] = (
        str(workdir.parent / argv[0])
        if not Path(argv[0]).is_absolute() and (workdir.parent / argv[0]).exists()
        else str(BIN / "duckdb")
    )
    out = subprocess.run(
        [*argv, "-csv"], capture_output=True, text=True, cwd=workdir.parent, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rows = out.stdout.strip().splitlines()
    assert rows[0] == "title,format,views_d7,perf_index" and len(rows) == 6


def test_demo_leaves_no_process_or_listening_socket(demo_runs):
    *_, new_ports = demo_runs
    assert new_ports == {}
    assert children_of(os.getpid()) == []


def test_second_demo_runs_only_the_night(demo_runs):
    _, first, second, _ = demo_runs
    assert second.returncode == 0, second.stderr[-3000:]
    calls = [
        int(
            re.search(r"extract: .*\(([\d,]+) rows, ([\d,]+) API calls", out.stdout)[2].replace(
                ",", ""
            )
        )
        for out in (first, second)
    ]
    assert calls[1] < calls[0] / 3, calls


def test_every_mart_is_populated_its_grain_holds_and_analysts_get_stable_views(demo_runs):
    from contentpulse.warehouse import connect
    from models.runner import discover

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    marts = [m for m in discover() if m.layer == "marts"]
    with connect(db, read_only=True) as con:
        readme = {
            name: (kind, description)
            for name, kind, description in con.sql(
                "select name, kind, description from readme"
            ).fetchall()
        }
        for mart in marts:
            keys = ", ".join(mart.grain)
            rows, duplicates = con.sql(
                f"select (select count(*) from {mart.table}), count(*) from "
                f"(select {keys} from {mart.table} group by {keys} having count(*) > 1)"
            ).fetchall()[0]
            assert rows > 0, f"{mart.table} is empty"
            assert duplicates == 0, f"{mart.table}: {duplicates} duplicate keys"
            # the stable view under the plain name reads the same rows, and is documented
            assert con.sql(f"select count(*) from {mart.name}").fetchall()[0][0] == rows
            assert readme[mart.name][0] == "view" and readme[mart.name][1], mart.name
            assert readme[mart.table][0] == "table", mart.table
        undocumented = con.sql(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where schema_name in ('staging', 'marts') and comment is null "
            "or (schema_name = 'main' and not internal and comment is null)"
        ).fetchall()
        untitled = con.sql(
            "select schema_name, table_name from duckdb_tables() where comment is null "
            "union all select schema_name, view_name from duckdb_views() "
            "where not internal and comment is null"
        ).fetchall()
    assert undocumented == [] and untitled == []


def test_segment_effects_find_the_portfolios_known_winner_and_loser(demo_runs):
    """The sandbox gives 'electric buses' 2.5x the views and 'coffee prices' 0.4x (on
    YouTube; the social accounts' few posts per topic are segments of their own)."""
    from contentpulse.warehouse import connect

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    with connect(db, read_only=True) as con:
        rows = con.sql(
            "select format, segment, shrunk_effect, recommendation from marts.segment_effects "
            "where dimension = 'topic' and platform = 'youtube'"
        ).fetchall()
    for fmt in ("video", "short"):
        effects = {seg: (eff, rec) for f, seg, eff, rec in rows if f == fmt}
        best = max(effects, key=lambda seg: effects[seg][0])
        worst = min(effects, key=lambda seg: effects[seg][0])
        assert (best, effects[best][1]) == ("electric buses", "invest"), fmt
        assert (worst, effects[worst][1]) == ("coffee prices", "avoid"), fmt


def test_the_reports_headline_names_the_known_winner(demo_runs):
    """The sandbox's winning topic is the report's headline and its first decision."""
    import html as html_lib

    workdir, first, _, _ = demo_runs
    report = workdir.parent / re.search(r"^Report:\s+(\S+)$", first.stdout, re.M)[1]
    page = report.read_text(encoding="utf-8")
    headline = html_lib.unescape(re.search(r'<p class="headline">(.*?)</p>', page, re.S)[1])
    decisions = [
        html_lib.unescape(d)
        for d in re.findall(
            r"<li>(.*?)</li>", re.search(r'<ol class="decisions">(.*?)</ol>', page, re.S)[1]
        )
    ]
    assert "electric buses" in headline and "beat" in headline, headline
    assert decisions[0].startswith("Make more") and "electric buses" in decisions[0], decisions


def demo_truth(workdir: Path):
    """The sandbox's portfolios the demo ran against (its night is in anchor.txt)."""
    from datetime import date, timedelta

    from sandbox import Portfolio
    from sandbox.csv_exports import ExportPortfolio
    from sandbox.ga4_portfolio import Ga4Portfolio
    from sandbox.social_portfolio import SocialPortfolio

    night = date.fromisoformat((workdir / "anchor.txt").read_text().strip())
    youtube = Portfolio.demo(end=night)
    return {
        "clock": night + timedelta(days=1),
        "youtube": youtube,
        "social": SocialPortfolio.demo(youtube),
        "ga4": Ga4Portfolio.demo(youtube),
        "exports": ExportPortfolio.demo(night),
    }


def views_truth(truth: dict, platform: str, account_id: str, days: list) -> int:
    """An account's true views over `days`, as each sandbox portfolio knows them."""
    clock = truth["clock"]
    if platform == "youtube":
        rows = truth["youtube"].content_daily_truth(clock, min(days), max(days))
        return int(rows[rows.account_id == account_id].views.sum())
    if platform == "ga4":
        report = truth["ga4"].report(
            account_id, ["date"], ["screenPageViews"], min(days), max(days), clock
        )
        return int(sum(values[0] for _, values in report.rows))
    if platform in ("linkedin", "x"):
        return sum(
            post.daily["impressions"][(day - post.publish_day).days]
            for post in truth["exports"].posts(account_id)
            for day in days
            if 0 <= (day - post.publish_day).days < len(post.daily["impressions"])
        )
    social = truth["social"]
    account = social.account(account_id)
    return sum(social.account_day(account, day)["views"] for day in days)


def test_report_week_views_are_the_sandbox_truth_within_what_they_declare(demo_runs):
    """The report's per-account views for its week: within 2 % of the truth plus the part
    the row marks as estimated, for every account; measured rows declare nothing."""
    import html as html_lib
    from datetime import timedelta

    from contentpulse.warehouse import connect

    workdir, first, _, _ = demo_runs
    report = workdir.parent / re.search(r"^Report:\s+(\S+)$", first.stdout, re.M)[1]
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    truth = demo_truth(workdir)
    page = report.read_text(encoding="utf-8")
    kpis = re.search(r'<section id="kpis">(.*?)</section>', page, re.S)[1]
    shown = {}
    for platform, account, cell in re.findall(
        r'<tr data-platform="([^"]+)" data-account="([^"]+)"><td>.*?</td><td>.*?</td>'
        r'<td class="num">(.*?)</td>',
        kpis,
        re.S,
    ):
        numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", cell)]
        shown[(platform, html_lib.unescape(account))] = (numbers[0], (numbers[1:] or [0])[0])
    week = re.search(r"weekly-(\d{4}-W\d\d)\.html", report.name)[1]
    with connect(db, read_only=True) as con:
        accounts = con.sql(
            "select distinct platform, account_id, account_name from marts.account_weekly"
        ).fetchall()
        monday = con.sql(
            "select min(week_start) from marts.account_weekly where iso_week = ?", params=[week]
        ).fetchall()[0][0]
    days = [monday + timedelta(days=d) for d in range(7)]
    assert {p for p, _ in shown} >= {"youtube", "ga4", "instagram", "facebook", "tiktok"}
    assert len(shown) == len(accounts)
    for platform, account_id, name in accounts:
        views, estimated = shown[(platform, name)]
        expected = views_truth(truth, platform, account_id, days)
        assert abs(views - expected) <= 0.02 * expected + estimated, (name, views, expected)
        if estimated == 0:
            assert "≈" not in kpis.split(f'data-account="{name}"')[1].split("</tr>")[0]


def test_anomalies_are_measured_days_and_match_the_truth(demo_runs):
    """Every account-level anomaly is a measured day whose views are within 5 % of the
    sandbox's truth for that day; no anomaly sits on an estimated post-day."""
    from contentpulse.warehouse import connect

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    truth = demo_truth(workdir)
    with connect(db, read_only=True) as con:
        accounts = con.sql(
            "select a.platform, a.account_id, a.date, a.views, d.views_estimated "
            "from marts.anomalies as a join marts.account_daily as d "
            "using (platform, account_id, date) where a.level = 'account'"
        ).fetchall()
        items_on_estimates = con.sql(
            "select count(*) from marts.anomalies as a join marts.post_daily as d "
            "using (platform, account_id, item_id, date) where d.is_estimated"
        ).fetchall()[0][0]
    assert accounts and items_on_estimates == 0
    for platform, account_id, day, views, estimated in accounts:
        assert estimated == 0, (platform, day)
        expected = views_truth(truth, platform, account_id, [day])
        assert abs(views - expected) <= 0.05 * expected, (platform, day, views, expected)


def test_no_finding_is_drawn_from_an_estimate(demo_runs):
    """The week-over-week finding compares measured weeks only, the anomaly finding is a
    measured day: no headline or supporting finding rests on an estimated figure."""
    from datetime import timedelta

    from contentpulse.warehouse import open_snapshot
    from reports.findings import findings

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    week = re.search(r"weekly-(\d{4}-W\d\d)\.html", first.stdout)[1]
    with open_snapshot(db) as con:
        monday = con.sql(
            "select min(week_start) from marts.account_weekly where iso_week = ?", params=[week]
        ).fetchall()[0][0]
        found = findings(con, monday, monday + timedelta(days=6))
        estimated = {
            name
            for (name,) in con.sql(
                "select account_name from marts.account_weekly "
                "where week_start in (?, ?) and views_estimated > 0",
                params=[monday, monday - timedelta(days=7)],
            ).fetchall()
        }
        measured_days = {
            (name, str(day))
            for name, day in con.sql(
                "select account_name, date from marts.account_daily where views_estimated = 0"
            ).fetchall()
        }
    shown = [f for f in [found.headline, *found.supporting] if f]
    assert shown
    for finding in shown:
        if finding.rule == "kpi_move":
            names = {a["account_name"] for a in finding.evidence["accounts"]}
            assert not names & estimated, finding.text
        if finding.rule == "anomaly" and finding.evidence["level"] == "account":
            key = (finding.evidence["account_name"], finding.evidence["date"])
            assert key in measured_days, finding.text


RAW_VALUE = re.compile(r"\b(?:nan|NaN|None|NaT|null|inf)\b|\b\d[\d,]*\.0\b(?! ?%)")


def visible_text(path: Path) -> str:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        page.goto(path.as_uri(), wait_until="load")
        text = page.inner_text("body")
        browser.close()
    return text


@pytest.mark.browser
def test_the_report_shows_no_raw_value_and_a_null_as_a_dash(demo_runs, tmp_path):
    """Rendered in Chromium, the report's visible text holds no nan, None, NaT or count
    printed as a float; with an account's last complete day NULL (a platform that has
    returned nothing complete yet), it renders "—" with the reason, instead of failing."""
    import shutil

    from reports.weekly import build_report

    workdir, first, _, _ = demo_runs
    report = workdir.parent / re.search(r"^Report:\s+(\S+)$", first.stdout, re.M)[1]
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    text = visible_text(report)
    assert RAW_VALUE.findall(text) == [], RAW_VALUE.findall(text)[:5]

    snapshot = tmp_path / "analytics.duckdb"
    shutil.copy(db, snapshot)
    import duckdb

    con = duckdb.connect(str(snapshot))
    con.execute(
        "update marts.data_quality set last_complete_date = null where platform = 'instagram'"
    )
    con.close()
    week = re.search(r"weekly-(\d{4}-W\d\d)\.html", report.name)[1]
    out = build_report(snapshot, tmp_path / "reports", week)
    text = visible_text(out.path)
    assert RAW_VALUE.findall(text) == []
    assert "data through — (the platform has returned no complete day yet)" in text


def test_a_snapshot_renders_the_same_report_byte_for_byte(demo_runs, tmp_path):
    """Built twice from the published snapshot, the week's page is the same bytes: nothing
    in it depends on the process (a heatmap cell's tooltip once printed the address of
    dict.items, `c.items` in the template, instead of the cell's number of releases)."""
    from reports.weekly import build_report

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    week = re.search(r"weekly-(\d{4}-W\d\d)\.html", first.stdout)[1]
    pages = [build_report(db, tmp_path / f"build{i}", week).path.read_text() for i in (1, 2)]
    assert pages[0] == pages[1]
    titles = re.findall(r'title="median index [^"]*"', pages[0])
    assert titles and all(
        re.fullmatch(r'title="median index [-+]\d\.\d\d over \d+ releases?"', t) for t in titles
    ), titles[:3]


@pytest.mark.browser
def test_the_demo_report_weighs_at_most_2_mb_and_fits_a_phone(demo_runs):
    """One file under 2 MB (plotly.js's basic bundle, figures without templates), and at
    390x844 nothing runs past the right edge: the page is no wider than the viewport, the
    charts resize to it, the tiles stack, and wide tables scroll inside their card."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    workdir, first, _, _ = demo_runs
    report = workdir.parent / re.search(r"^Report:\s+(\S+)$", first.stdout, re.M)[1]
    assert report.stat().st_size <= 2_000_000, report.stat().st_size
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        layout = page.evaluate(
            """() => ({
                viewport: window.innerWidth,
                page: document.documentElement.scrollWidth,
                charts: [...document.querySelectorAll('.js-plotly-plot')]
                    .map(c => Math.ceil(c.getBoundingClientRect().right)),
                tiles: [...document.querySelectorAll('.tile')]
                    .map(t => Math.round(t.getBoundingClientRect().left)),
                tables: [...document.querySelectorAll('table')].map(t => ({
                    scrolls: t.parentElement.classList.contains('scroll'),
                    right: Math.ceil(t.parentElement.getBoundingClientRect().right),
                    wider: t.scrollWidth > t.parentElement.clientWidth,
                })),
            })"""
        )
        browser.close()
    assert layout["page"] <= layout["viewport"] == 390, layout["page"]
    assert layout["charts"] and max(layout["charts"]) <= 390, layout["charts"]
    assert len(layout["tiles"]) == 4 and len(set(layout["tiles"])) == 1, layout["tiles"]
    assert any(t["wider"] for t in layout["tables"])  # a wide table: it scrolls in its card
    assert all(t["scrolls"] and t["right"] <= 390 for t in layout["tables"]), layout["tables"]


def analyst_queries() -> list[tuple[str, str]]:
    """(question, SQL) of each example in docs/analysts.md."""
    from tests.conftest import REPO

    doc = (REPO / "docs" / "analysts.md").read_text(encoding="utf-8")
    return re.findall(r"^### (.+?)\n.*?```sql\n(.*?)```", doc, re.S | re.M)


def test_the_ten_example_queries_in_the_docs_answer_on_the_demo_snapshot(demo_runs):
    """Each strategist's question in docs/analysts.md, run as written: no error, an answer."""
    from contentpulse.warehouse import connect

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    queries = analyst_queries()
    assert len(queries) == 10
    with connect(db, read_only=True) as con:
        for question, sql in queries:
            rows = con.execute(sql).fetchall()
            assert rows, f"no answer to {question!r}"
        invest = con.execute(
            dict(queries)["4. Where should we invest: which topic, format or length works?"]
        ).fetchall()
    # the sandbox's known winner is among the segments to invest in
    assert any(r[0] == "youtube" and r[3] == "electric buses" for r in invest), invest


def test_readme_has_a_one_line_summary_and_no_comment_names_a_missing_table(demo_runs):
    """`select * from readme` reads in a terminal (a summary of at most 100 characters beside
    the full description), and every schema.table a comment points at is in the snapshot
    (the content-link review list is published as content_links)."""
    from contentpulse.warehouse import connect

    workdir, first, _, _ = demo_runs
    db = workdir.parent / re.search(r"^Analytics DB:\s+(\S+)$", first.stdout, re.M)[1]
    with connect(db, read_only=True) as con:
        readme = con.sql("select name, summary, description from readme").fetchall()
        comments = [
            c
            for (c,) in con.sql(
                "select comment from duckdb_tables() where comment is not null "
                "union all select comment from duckdb_views() where comment is not null "
                "union all select comment from duckdb_columns() where comment is not null"
            ).fetchall()
        ]
        tables = {
            f"{s}.{t}"
            for s, t in con.sql(
                "select schema_name, table_name from duckdb_tables() "
                "union all select schema_name, view_name from duckdb_views()"
            ).fetchall()
        }
        review = con.sql("select count(*) from content_links where to_review").fetchall()[0][0]
    assert readme and all(s and len(s) <= 100 and "\n" not in s for _, s, _ in readme)
    assert all(d.startswith(s.rstrip("…")) for _, s, d in readme), readme[:3]
    named = {
        m
        for c in comments
        for m in re.findall(r"\b(?:staging|marts|intermediate|raw|meta)\.[a-z_]+\b", c)
    }
    assert named and named <= tables, named - tables
    assert review > 0


def test_report_send_mails_the_reports_headline_and_figures_and_posts_the_chat(demo_runs, tmp_path):
    """`contentpulse report --send` on the demo's snapshot, to an SMTP server and a webhook on
    127.0.0.1: the mail's headline, decisions and KPIs are the report's, the report is
    attached byte for byte, and the chat message carries the headline."""
    import html as html_lib
    import json

    import yaml

    from tests.receivers import SmtpReceiver, WebhookReceiver

    workdir, _, _, _ = demo_runs
    raw = yaml.safe_load((workdir / "contentpulse.yml").read_text(encoding="utf-8"))
    raw["paths"]["reports"] = str(tmp_path / "reports")
    raw["delivery"] = {
        "email_to": ["strategy@example.org"],
        "smtp_conn_id": "demo_mail",
        "webhook_conn_id": "demo_chat",
    }
    config = tmp_path / "contentpulse.yml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        env = {
            **os.environ,
            "AIRFLOW_CONN_DEMO_MAIL": json.dumps(smtp.connection()),
            "AIRFLOW_CONN_DEMO_CHAT": json.dumps(
                {"conn_type": "http", "extra": {"webhook_url": hook.url("/hooks/demo")}}
            ),
        }
        run = subprocess.run(
            [str(BIN / "contentpulse"), "--config", str(config), "report", "--send"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"^deliver: \d{4}-W\d\d: mail to 1, chat ", run.stdout, re.M), run.stdout
    [report] = sorted((tmp_path / "reports").glob("weekly-*.html"))
    page = report.read_text(encoding="utf-8")
    headline = html_lib.unescape(re.search(r'<p class="headline">(.*?)</p>', page, re.S)[1])
    [mail] = smtp.messages
    body = mail.get_body(preferencelist=("html",)).get_content()
    assert (
        html_lib.unescape(re.search(r'<p class="headline"[^>]*>(.*?)</p>', body, re.S)[1])
        == headline
    )
    decisions = re.search(r'<ol class="decisions">(.*?)</ol>', page, re.S)[1]
    for decision in re.findall(r"<li>(.*?)</li>", decisions):
        assert decision in body
    tiles = re.findall(r'<div class="value">(?:≈ )?([^<]+)</div>', page)
    kpis = re.search(r'<table class="kpis"(.*?)</table>', body, re.S)[1]
    assert tiles and all(value in kpis for value in tiles), (tiles, kpis)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == report.name
    content = attachment.get_content()
    assert (content if isinstance(content, bytes) else content.encode()) == report.read_bytes()
    [(_, payload)] = hook.received
    assert payload["text"] == f"contentpulse week {report.stem.removeprefix('weekly-')}: {headline}"


def test_a_default_run_prints_one_line_per_step_and_no_per_table_check_lines(demo_runs):
    """The check step's per-table INFO lines are behind -v; the step lines are on stdout."""
    _, first, second, _ = demo_runs
    for run in (first, second):
        assert "INFO    check:" not in run.stderr, run.stderr[-2000:]
        steps = [
            line.split(":")[0] for line in run.stdout.splitlines() if re.match(r"^[a-z]+: ", line)
        ]
        assert steps == ["extract", "load", "build", "check", "publish", "report"], run.stdout


# Where a page shows a command, a test runs it: every ```sh block of README.md and docs/*.md
# runs on a copy of the demo's state, laid out as a project folder is (contentpulse.yml and
# data/ beside .venv), with the demo itself under demo/. A block that needs Airflow, an API or
# minutes says so in an HTML comment right above it (`<!-- not run: why -->`) and is skipped.
REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->")


def doc_pages() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def sh_blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """(line, script, why it is not run or None) of each ```sh block of a page; a fence may
    be indented (a block inside a list item), its lines are dedented by the fence's indent."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```sh\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, start = len(fence[1]), i + 1
        end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
        script = "\n".join(line[indent:] for line in lines[start:end])
        above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        mark = NOT_RUN.fullmatch(above.strip())
        blocks.append((start, script, mark[1] if mark else None))
        i = end + 1
    return blocks


def doc_commands() -> list:
    params = []
    for page in doc_pages():
        name = page.relative_to(REPO_ROOT).as_posix()
        for line, script, why in sh_blocks(page):
            marks = [pytest.mark.skip(reason=f"{name}:{line}: not run: {why}")] if why else []
            params.append(pytest.param(name, line, script, marks=marks, id=f"{name}:{line}"))
    return params


def test_every_not_run_mark_sits_right_above_an_sh_block_and_says_why():
    """A mark that no block follows (moved, or the block lost its `sh`) would silently stop
    guarding anything; one with no reason says nothing. Some blocks run: the test is real."""
    for page in doc_pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if "<!-- not run" not in line:
                continue
            assert NOT_RUN.fullmatch(line.strip()), f"{page.name}:{i + 1}: `<!-- not run: why -->`"
            below = next((x for x in lines[i + 1 :] if x.strip()), "")
            assert below.strip() == "```sh", f"{page.name}:{i + 1}: no sh block right below"
    runnable = [p for p in doc_commands() if not p.marks]
    assert len(runnable) >= 5, [p.id for p in runnable]


@pytest.fixture(scope="module")
def doc_workspace(demo_runs, tmp_path_factory):
    """A project folder over a copy of the demo's state: demo/ (the copy, its config's paths
    moved with it), contentpulse.yml and data/ pointing into it, .venv the one running."""
    import shutil

    workdir, first, _, _ = demo_runs
    assert first.returncode == 0, first.stderr[-3000:]
    space = tmp_path_factory.mktemp("docs")
    shutil.copytree(workdir, space / "demo")
    config = space / "demo" / "contentpulse.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(str(workdir), str(space / "demo")),
        encoding="utf-8",
    )
    (space / "contentpulse.yml").symlink_to(config)
    (space / "data").symlink_to(space / "demo" / "data")
    (space / ".venv").symlink_to(BIN.parent)
    return space


@pytest.mark.parametrize("page, line, script", doc_commands())
def test_each_command_the_docs_show_runs_on_the_demo_state(doc_workspace, page, line, script):
    env = {k: v for k, v in os.environ.items() if k != "CONTENTPULSE_CONFIG"}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", NO_PROXY="127.0.0.1,localhost")
    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=doc_workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (
        f"{page}:{line}: exit {run.returncode}\n{script}\n{run.stderr[-2000:]}"
    )
