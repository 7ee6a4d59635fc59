"""Quality checks on tiny hand-made warehouses: each kind fails when it should, and only then."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml

from contentpulse.config import latest_reporting_date
from contentpulse.errors import CheckFailed, ContentpulseError
from contentpulse.warehouse import open_warehouse
from transforms import checks
from transforms.checks import NOTHING_CHANGED, load_checks, parse_checks, rows_changed_since
from transforms.publish import publishable_build

RUN_DATE = date(2026, 11, 22)
DAILY_YAML = """
grain: [platform, account_id, item_id, date]
columns:
  - {name: views, tests: [non_negative, {between: [0, 1000]}]}
  - {name: format, tests: [{accepted_values: [short, video]}]}
"""


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        con.execute(
            "insert into meta.accounts values "
            "('youtube', 'UCa', 'Alpha', 'UTC'), ('youtube', 'UCb', 'Beta', 'UTC')"
        )
        con.execute(
            "create table marts.daily (platform varchar, account_id varchar, item_id varchar, "
            "date date, views bigint, format varchar)"
        )
        yield con


def new_build(con: duckdb.DuckDBPyConnection, since: date | None = None) -> str:
    build_id = uuid.uuid4().hex
    con.execute(
        "insert into meta.builds (build_id, started_at, finished_at, models, seconds, since) "
        "values (?, now(), now(), 1, 0, ?)",
        [build_id, since],
    )
    return build_id


def add_days(con, rows: list[tuple], table: str = "marts.daily") -> None:
    con.executemany(f"insert into {table} values (?, ?, ?, ?, ?, ?)", rows)


def day(item: str, d: date, views: int, fmt: str = "video", account: str = "UCa") -> tuple:
    return ("youtube", account, item, d, views, fmt)


def spec(text: str, table: str = "marts.daily") -> checks.ModelChecks:
    return parse_checks(table, yaml.safe_load(text))


def run(con, *specs, **kwargs) -> checks.CheckSummary:
    return checks.run_checks(con, RUN_DATE, models=list(specs), **kwargs)


def results(con, check_id: str) -> list[dict]:
    return (
        con.execute("select * from meta.check_results where check_id = ?", [check_id])
        .df()
        .to_dict("records")
    )


# --- ranges and accepted values --------------------------------------------------------


def test_values_in_range_and_in_the_accepted_set_pass(con):
    new_build(con)
    add_days(con, [day("v1", date(2026, 11, 10), 10), day("v2", date(2026, 11, 10), 1000, "short")])
    summary = run(con, spec(DAILY_YAML))
    assert summary.success and not summary.failed
    kinds = {r["expectation"] for r in results(con, summary.check_id)}
    assert {"ExpectColumnValuesToBeBetween", "ExpectColumnValuesToBeInSet"} <= kinds
    assert con.execute("select success from meta.check_runs").fetchall() == [(True,)]


def test_a_value_out_of_range_blocks_publish_naming_model_expectation_and_row(con):
    build_id = new_build(con)
    add_days(con, [day("v1", date(2026, 11, 10), 10), day("v2", date(2026, 11, 11), 5000)])
    with pytest.raises(CheckFailed) as err:
        run(con, spec(DAILY_YAML))
    message = str(err.value)
    assert (
        "marts.daily: ExpectColumnValuesToBeBetween(column=views, min_value=0, max_value=1000) "
        "failed on 1 of 2 rows" in message
    )
    assert '"item_id": "v2", "date": "2026-11-11", "views": 5000' in message
    assert "publish is blocked" in message and "\n" not in message
    with pytest.raises(ContentpulseError, match="failed its checks"):
        publishable_build(con)
    failed = [r for r in results(con, checks_id(con)) if not r["success"]]
    assert len(failed) == 1 and failed[0]["critical"] and failed[0]["build_id"] == build_id
    assert json.loads(failed[0]["sample"])[0]["item_id"] == "v2"


def checks_id(con) -> str:
    return con.execute("select check_id from meta.check_runs order by checked_at desc").fetchall()[
        0
    ][0]


def test_a_value_outside_the_accepted_set_is_named(con):
    new_build(con)
    add_days(con, [day("v1", date(2026, 11, 10), 10, "reel")])
    with pytest.raises(CheckFailed, match=r"ExpectColumnValuesToBeInSet\(column=format.*\"reel\""):
        run(con, spec(DAILY_YAML))


def test_negative_values_fail_non_negative_and_a_future_date_fails_not_in_future(con):
    new_build(con)
    add_days(con, [day("v1", latest_reporting_date() + timedelta(days=1), -3)])
    yml = "grain: [item_id, date]\ncolumns:\n  - {name: date, tests: [not_in_future]}\n"
    with pytest.raises(CheckFailed) as err:
        run(con, spec(yml + "  - {name: views, tests: [non_negative]}\n"))
    assert "(and 1 more failed expectations)" in str(err.value)
    failed = {r["column"] for r in results(con, checks_id(con)) if not r["success"]}
    assert failed == {"date", "views"}


# --- severity ---------------------------------------------------------------------------


def test_a_warning_is_recorded_and_logged_but_does_not_block_publish(con, caplog):
    build_id = new_build(con)
    add_days(con, [day("v1", date(2026, 11, 10), 5000)])
    yml = """
grain: [platform, account_id, item_id, date]
columns:
  - {name: views, tests: [non_negative, {between: {max: 1000, severity: warn}}]}
"""
    with caplog.at_level(logging.WARNING, logger="transforms.checks"):
        summary = run(con, spec(yml))
    assert summary.success and len(summary.warnings) == 1
    assert "check warning: marts.daily: ExpectColumnValuesToBeBetween" in caplog.text
    warned = [r for r in results(con, summary.check_id) if not r["success"]]
    assert len(warned) == 1 and not warned[0]["critical"]
    assert publishable_build(con).build_id == build_id


def test_a_past_run_date_accepts_the_later_nights_days(con):
    """Re-running a past night: the tables already hold the days of the nights after it."""
    new_build(con)
    add_days(con, [day("v1", RUN_DATE + timedelta(days=5), 3)])
    yml = "grain: [item_id, date]\ncolumns:\n  - {name: date, tests: [not_in_future]}\n"
    assert run(con, spec(yml)).success


def test_interrupted_data_docs_leave_the_old_pages_and_no_temporary_folder(tmp_path, monkeypatch):
    docs = tmp_path / "quality"
    docs.mkdir()
    (docs / "index.html").write_text("the last check's pages", encoding="utf-8")

    def interrupted(gxv, summary, tmp: Path) -> None:  # SIGINT or SIGTERM mid-write
        tmp.mkdir()
        (tmp / "index.html").write_text("half of the new pages", encoding="utf-8")
        raise KeyboardInterrupt("SIGTERM")

    monkeypatch.setattr(checks, "_write_pages", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checks.write_data_docs(None, None, docs)
    assert [p.name for p in tmp_path.iterdir()] == ["quality"]
    assert (docs / "index.html").read_text(encoding="utf-8") == "the last check's pages"


def test_yaml_mistakes_are_named():
    with pytest.raises(
        ContentpulseError, match=r"columns\[views\].tests\[0\]: unknown test 'betwen'"
    ):
        spec("columns:\n  - {name: views, tests: [{betwen: [0, 1]}]}")
    with pytest.raises(ContentpulseError, match="severity must be error or warn"):
        spec("columns:\n  - {name: views, tests: [{non_negative: {severity: low}}]}")
    with pytest.raises(ContentpulseError, match="between needs a min or a max"):
        spec("columns:\n  - {name: views, tests: [{between: [null, null]}]}")
    with pytest.raises(ContentpulseError, match=r"checks\[0\]: unknown check 'median'"):
        spec("checks:\n  - {median: {column: x, min: 0}}")


def test_every_model_yaml_declares_valid_checks():
    specs = {s.table: s for s in load_checks()}  # a mistake raises, naming file and test
    assert specs["staging.stg_youtube__channel_daily"].freshness is not None
    assert any(t.test == "accepted_values" for s in specs.values() for t in s.tests)


# --- freshness ----------------------------------------------------------------------------


FRESH_YAML = "grain: [platform, account_id, item_id, date]\nfreshness: {max_days: 4}\n"


def test_a_stale_account_is_a_named_warning_and_the_others_still_publish(con):
    build_id = new_build(con)
    add_days(
        con,
        [
            day("a1", date(2026, 11, 20), 5, account="UCa"),
            day("b1", date(2026, 11, 10), 5, account="UCb"),
        ],
    )
    summary = run(con, spec(FRESH_YAML))
    assert summary.success
    assert [w.describe() for w in summary.warnings] == [
        "marts.daily: youtube account UCb (Beta): newest day 2026-11-10, "
        "12 days before run date 2026-11-22 (at most 4)"
    ]
    assert publishable_build(con).build_id == build_id


def test_an_account_without_rows_warns_and_so_does_a_source_without_any_row(con):
    new_build(con)
    add_days(con, [day("a1", date(2026, 11, 21), 5, account="UCa")])
    summary = run(con, spec(FRESH_YAML))
    assert [w.describe() for w in summary.warnings] == [
        "marts.daily: youtube account UCb (Beta): no rows at all"
    ]
    con.execute("delete from marts.daily")
    new_build(con)
    summary = run(con, spec(FRESH_YAML + "max_row_drop: 1\n"))
    assert summary.success  # nothing to lose: a first backfill stopped by quota still publishes
    assert any("no youtube data at all (2 accounts)" in w.describe() for w in summary.warnings)


def test_a_staging_model_is_fresh_against_its_own_source_only(con):
    new_build(con)
    con.execute("insert into meta.accounts values ('ga4', 'p1', 'Site', 'UTC')")
    con.execute("create table staging.stg_youtube__daily as select * from marts.daily")
    add_days(
        con,
        [day("a1", date(2026, 11, 21), 5), day("b1", date(2026, 11, 21), 5, account="UCb")],
        "staging.stg_youtube__daily",
    )
    summary = run(con, spec(FRESH_YAML, "staging.stg_youtube__daily"))
    assert summary.success and not summary.warnings, "the ga4 account is not youtube's"


# --- row count against the last passed check ---------------------------------------------


def test_a_row_count_drop_against_the_last_passed_check_is_critical(con):
    yml = "grain: [platform, account_id, item_id, date]\n"
    new_build(con)
    add_days(con, [day(f"v{i}", date(2026, 11, 10), i) for i in range(1000)])
    first = run(con, spec(yml))
    assert first.row_counts == {"marts.daily": 1000}

    con.execute("delete from marts.daily where views >= 900")  # 10 % fewer rows
    new_build(con)
    with pytest.raises(CheckFailed) as err:
        run(con, spec(yml))
    assert (
        f"marts.daily: youtube's row count fell 10.0%, from 1,000 at the last passed check "
        f"({first.check_id[:8]}) to 900; at most 5% (max_row_drop in its YAML) or 10 rows may go"
        in str(err.value)
    )
    with pytest.raises(CheckFailed, match="from 1,000"):  # a failed run is no new baseline
        run(con, spec(yml))
    assert run(con, spec(yml + "max_row_drop: 0.2\n")).success

    add_days(con, [day(f"w{i}", date(2026, 11, 11), i) for i in range(50)])  # growth is fine
    new_build(con)
    assert run(con, spec(yml)).success
    counts = con.execute(
        "select row_count from meta.check_row_counts where platform is null order by row_count"
    ).fetchall()
    assert [c for (c,) in counts] == [900, 900, 900, 950, 1000]


def test_an_empty_table_passes_unvalidated_until_it_had_rows(con, tmp_path):
    yml = "grain: [platform, account_id, item_id, date]\n"
    new_build(con)
    summary = run(con, spec(yml), docs_dir=tmp_path / "quality")
    table = [r for r in summary.results if r.suite == "marts.daily.table"]
    assert table and all(r.success and r.element_count == 0 for r in table)
    index = (tmp_path / "quality" / "index.html").read_text(encoding="utf-8")
    assert "<td>marts.daily.table</td><td>no rows to validate</td>" in index

    add_days(con, [day(f"v{i}", date(2026, 11, 10), i) for i in range(100)])
    new_build(con)
    assert run(con, spec(yml)).success
    con.execute("delete from marts.daily")  # emptied after a passed check: a critical drop
    new_build(con)
    with pytest.raises(CheckFailed, match=r"row count fell 100\.0%, from 100"):
        run(con, spec(yml))


def test_a_small_table_may_lose_a_few_rows(con):
    yml = "grain: [platform, account_id, item_id, date]\n"
    new_build(con)
    add_days(con, [day(f"v{i}", date(2026, 11, 10), i) for i in range(16)])
    run(con, spec(yml))
    con.execute("delete from marts.daily where views >= 6")  # 10 rows: 62 %, but only 10
    new_build(con)
    assert run(con, spec(yml)).success
    add_days(con, [day(f"w{i}", date(2026, 11, 11), i) for i in range(14)])
    new_build(con)
    assert run(con, spec(yml)).success
    con.execute("delete from marts.daily")  # all 20 of them
    new_build(con)
    with pytest.raises(CheckFailed, match=r"row count fell 100\.0%, from 20 "):
        run(con, spec(yml))


# --- distribution of the index ------------------------------------------------------------


PERFORMANCE_YAML = """
grain: [item_id]
checks:
  - {median_between: {column: performance_index, min: -0.5, max: 0.5, min_count: 5}}
  - {mean_between: {column: is_outlier, max: 0.1, min_count: 5}}
  - {stdev_between: {column: performance_index, min: 0.1, max: 3, min_count: 5}}
"""


def performance(con, indexes: list[float | None], outliers: int) -> None:
    con.execute(
        "create or replace table marts.performance "
        "(item_id varchar, performance_index double, is_outlier boolean)"
    )
    con.executemany(
        "insert into marts.performance values (?, ?, ?)",
        [[f"i{n}", x, n < outliers] for n, x in enumerate(indexes)],
    )


def test_a_typical_index_distribution_passes(con):
    new_build(con)
    performance(con, [-1.0, -0.4, 0.0, 0.1, 0.3, 1.2, None, None, None, None], outliers=0)
    summary = run(con, spec(PERFORMANCE_YAML, "marts.performance"))
    observed = {r.expectation.kind: r.observed for r in summary.results if r.observed is not None}
    assert observed["ExpectColumnMedianToBeBetween"] == pytest.approx(0.05)
    assert observed["ExpectColumnMeanToBeBetween"] == 0.0


def test_a_shifted_median_or_too_many_outliers_fail(con):
    new_build(con)
    performance(con, [0.9, 1.0, 1.1, 1.2, 1.3, 1.4], outliers=0)
    with pytest.raises(CheckFailed) as err:
        run(con, spec(PERFORMANCE_YAML, "marts.performance"))
    assert (
        "marts.performance: ExpectColumnMedianToBeBetween(column=performance_index, "
        "min_value=-0.5, max_value=0.5) failed: observed 1.15 over 6 values" in str(err.value)
    )
    performance(con, [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3], outliers=2)  # a third are outliers
    new_build(con)
    with pytest.raises(CheckFailed, match=r"ExpectColumnMeanToBeBetween\(column=is_outlier"):
        run(con, spec(PERFORMANCE_YAML, "marts.performance"))


def test_a_distribution_of_too_few_values_is_skipped(con):
    new_build(con)
    performance(con, [3.0, 3.0, None], outliers=3)
    summary = run(con, spec(PERFORMANCE_YAML, "marts.performance"))
    assert summary.success
    assert not any(r.expectation.kind.startswith("ExpectColumnM") for r in summary.results)


# --- big tables: changed rows only, whole-table aggregates in SQL ---------------------------


INCREMENTAL_YAML = DAILY_YAML + "materialized: incremental\nreplace_where: date >= $since\n"


def test_since_limits_row_checks_to_changed_rows_but_uniqueness_covers_the_table(con):
    new_build(con)
    old_bad = day("v1", date(2026, 11, 1), -1)
    add_days(con, [old_bad, day("v2", date(2026, 11, 20), 5)])
    summary = run(con, spec(INCREMENTAL_YAML), since=date(2026, 11, 15))
    assert summary.success, "the old bad row is not in the batch"
    rows = [r for r in summary.results if r.suite == "marts.daily"]
    assert rows and all(r.element_count == 1 for r in rows)

    add_days(con, [old_bad])  # an old duplicate is still found
    new_build(con)
    with pytest.raises(CheckFailed) as err:
        run(con, spec(INCREMENTAL_YAML), since=date(2026, 11, 15))
    assert (
        "marts.daily: ExpectCompoundColumnsToBeUnique(column_list=['platform', 'account_id', "
        "'item_id', 'date']) failed on 2 of 3 rows" in str(err.value)
    )
    assert '"item_id": "v1", "date": "2026-11-01", "copies": 2' in str(err.value)


def test_no_changed_rows_pass_unvalidated_and_the_docs_say_so(con, tmp_path):
    new_build(con)
    add_days(con, [day("v1", date(2026, 11, 1), -1)])  # bad, but before the batch
    docs = tmp_path / "quality"
    summary = run(con, spec(INCREMENTAL_YAML), since=date(2026, 11, 15), docs_dir=docs)
    rows = [r for r in summary.results if r.suite == "marts.daily"]
    assert len(rows) == len(checks.row_expectations(spec(INCREMENTAL_YAML), RUN_DATE))
    assert all(r.success and r.element_count == 0 for r in rows)
    assert len(results(con, summary.check_id)) == len(summary.results), "all recorded"
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "<td>marts.daily</td><td>no rows to validate</td>" in index
    assert not (docs / "marts.daily.html").exists()

    add_days(con, [day("v2", date(2026, 11, 20), -1)])  # a bad row in the batch is found
    new_build(con)
    with pytest.raises(CheckFailed, match=r"min_value=0\) failed on 1 of 1 rows"):
        run(con, spec(INCREMENTAL_YAML), since=date(2026, 11, 15), docs_dir=docs)
    assert (docs / "marts.daily.html").exists()


def test_rows_are_validated_in_chunks_that_add_up(con, monkeypatch):
    monkeypatch.setattr(checks, "CHUNK_ROWS", 2048)
    new_build(con)
    add_days(
        con, [day(f"v{i}", date(2026, 11, 10), -1 if i % 3000 == 0 else 1) for i in range(9000)]
    )
    with pytest.raises(CheckFailed, match=r"min_value=0\) failed on 3 of 9,000 rows"):
        run(con, spec(DAILY_YAML))


def test_rows_changed_since_covers_every_build_after_the_last_passed_check(con):
    yml = spec("grain: [platform, account_id, item_id, date]\nmax_row_drop: 1\n")
    new_build(con, since=date(1970, 1, 1))  # a full build
    assert rows_changed_since(con) is None, "no check passed yet: every row"
    run(con, yml)
    assert rows_changed_since(con) is None, "the full build, checked again"
    new_build(con, since=date(2026, 11, 18))
    assert rows_changed_since(con) == date(2026, 11, 18)
    con.execute("insert into marts.daily values ('youtube', 'UCa', 'x', null, 1, 'video')")
    with pytest.raises(CheckFailed):
        run(con, spec(DAILY_YAML))
    new_build(con, since=date(2026, 11, 20))
    assert rows_changed_since(con) == date(2026, 11, 18), "the failed batch is checked again"
    con.execute("delete from marts.daily")
    run(con, yml)
    new_build(con, since=None)  # nothing new arrived
    assert rows_changed_since(con) == NOTHING_CHANGED


# --- Data Docs ---------------------------------------------------------------------------------


class _Fetches(HTMLParser):
    """What a browser would fetch from the network: src/href of anything but a link."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"
        for name, value in attrs:
            remote = value and re.match(r"\s*(https?:)?//", value)
            if tag != "a" and name in ("src", "href", "srcset", "data", "poster") and remote:
                self.found.append(f"<{tag} {name}={value}>")
            if name == "style" and value and re.search(r"url\(\s*['\"]?(https?:)?//", value):
                self.found.append(f"<{tag} style={value}>")

    def handle_data(self, data):
        if self._style and re.search(r"(url\(|@import)\s*['\"]?(https?:)?//", data):
            self.found.append("a stylesheet url()")

    def handle_endtag(self, tag):
        self._style = False


def test_data_docs_are_written_and_fetch_nothing_from_the_network(con, tmp_path):
    new_build(con)
    hostile = '<img src="https://example.com/x.png" onerror=alert(1)>'
    add_days(con, [day("v1", date(2026, 11, 10), 10), day("v2", date(2026, 11, 10), 10, hostile)])
    docs = tmp_path / "reports" / "quality"
    with pytest.raises(CheckFailed, match=r"details in .*quality/index.html"):
        run(con, spec(DAILY_YAML), docs_dir=docs)
    index = docs / "index.html"
    assert index.exists()
    pages = sorted(docs.glob("*.html"))
    assert {p.name for p in pages} >= {"index.html", "marts.daily.html", "marts.daily.table.html"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        parser = _Fetches()
        parser.feed(text)
        assert parser.found == [], (page.name, parser.found)
        assert hostile not in text, "sample values are escaped"
    rendered = (docs / "marts.daily.html").read_text(encoding="utf-8")
    assert "ExpectColumnValuesToBeInSet" in rendered or "values must belong to this set" in rendered
    assert "marts.daily.html" in index.read_text(encoding="utf-8")

    con.execute("delete from marts.daily where item_id = 'v2'")
    new_build(con)
    run(con, spec(DAILY_YAML + "max_row_drop: 1\n"), docs_dir=docs)  # the next run replaces it
    assert "passed" in index.read_text(encoding="utf-8")
    assert not list(docs.parent.glob(".quality.*")), "no temporary folder left behind"


# --- judged in DuckDB, GX only where something fails --------------------------------------


def test_a_check_where_everything_passes_never_needs_gx_and_still_writes_the_docs(
    con, tmp_path, monkeypatch
):
    def no_gx():
        raise AssertionError("GX was imported on a check where every suite passes")

    monkeypatch.setattr(checks, "_import_gx", no_gx)
    new_build(con)
    add_days(con, [day("v1", date(2026, 11, 21), 10), day("v2", date(2026, 11, 21), 1000, "short")])
    performance(con, [-0.4, 0.0, 0.1, 0.2, 0.3, 1.2], outliers=0)
    docs = tmp_path / "quality"
    summary = run(
        con,
        spec(DAILY_YAML + "freshness: {max_days: 4}\n"),
        spec(PERFORMANCE_YAML, "marts.performance"),
        docs_dir=docs,
    )
    assert summary.success and [w.describe() for w in summary.warnings] == [
        "marts.daily: youtube account UCb (Beta): no rows at all"
    ]
    assert {r.judged_by for r in summary.results} == {"sql"}
    assert len(results(con, summary.check_id)) == len(summary.results) == 16
    rows = {r.expectation.kwargs["column"]: r for r in summary.results if r.suite == "marts.daily"}
    assert rows["views"].element_count == 2 and rows["views"].unexpected_count == 0
    median = [r for r in summary.results if r.expectation.kind == "ExpectColumnMedianToBeBetween"]
    assert median[0].observed == pytest.approx(0.15) and median[0].element_count == 6
    index = (docs / "index.html").read_text(encoding="utf-8")
    for suite in ("marts.daily", "marts.daily.table", "marts.daily.freshness"):
        assert f'href="{suite}.html"' in index
    page = (docs / "marts.daily.freshness.html").read_text(encoding="utf-8")
    assert "UCb (Beta): no rows at all" in page and "Judged in DuckDB" in page


# (values of one column, its YAML test, whether GX passes it, who judges it): DuckDB judges
# a test as GX does on the frame, or leaves it to GX
AGREEMENT = [
    ("double", [1.5, float("nan"), None], "non_negative", True, "sql"),
    ("double", [1.5, float("nan")], "not_null", False, "sql"),
    ("double", [0.0, 1.0, float("inf")], "{between: [0, 1]}", False, "sql"),
    ("double", [-0.0, 0.5, 1.0], "{between: [0, 1]}", True, "sql"),
    ("bigint", [1, 7, None], "{between: [1, 7]}", True, "sql"),
    ("bigint", [0, 7], "{between: [1, 7]}", False, "sql"),
    ("boolean", [True, False, None], "{between: [0, 1]}", True, "sql"),
    ("boolean", [True, None], "not_null", False, "sql"),
    ("varchar", ["short", None], "{accepted_values: [short, video]}", True, "sql"),
    ("varchar", ["short", "Short"], "{accepted_values: [short, video]}", False, "sql"),
    ("varchar", ["100", "10"], "{accepted_values: ['100', '10']}", True, "sql"),
    ("integer", [100, 10], "{accepted_values: ['100', '10']}", False, "gx"),
    ("date", ["2026-11-22", None], "not_in_future", True, "sql"),
    ("date", ["2026-11-21", "2030-01-01"], "not_in_future", False, "sql"),
    ("timestamp", ["2026-11-22 00:00:00"], "{between: {max: 2026-11-22}}", True, "sql"),
    ("timestamp", ["2026-11-22 00:00:01"], "{between: {max: 2026-11-22}}", False, "sql"),
    ("timestamptz", ["2026-11-21 00:00:00+00"], "not_in_future", False, "gx"),
]


@pytest.mark.parametrize(("column_type", "values", "test", "passes", "judge"), AGREEMENT)
def test_duckdb_judges_each_column_test_as_gx_does(con, column_type, values, test, passes, judge):
    con.execute(f"create table marts.values_of (item_id varchar, value {column_type})")
    con.executemany(
        "insert into marts.values_of values (?, ?)", [[f"i{i}", v] for i, v in enumerate(values)]
    )
    model = spec(f"grain: [item_id]\ncolumns:\n  - {{name: value, tests: [{test}]}}\n")
    model.table = "marts.values_of"
    columns = checks._table_columns(con, model.table)
    by_gx = checks._check_rows(con, checks._Validator("agreement"), model, columns, RUN_DATE, None)
    assert all(r.success for r in by_gx) is passes
    in_sql = checks._check_rows(con, None, model, columns, RUN_DATE, None)
    if judge == "gx" or not passes:  # GX judges the model
        assert in_sql is None
    else:
        assert in_sql is not None
        got = [(r.success, r.element_count, r.unexpected_count) for r in in_sql]
        assert got == [(r.success, r.element_count, r.unexpected_count) for r in by_gx]


# --- one source's failure holds back that source only --------------------------------------


def ig(item: str, d: date, views: int | None, fmt: str = "video") -> tuple:
    return ("instagram", "17841", item, d, views, fmt)


NULLS_YAML = """
grain: [platform, account_id, item_id, date]
columns:
  - {name: views, tests: [non_negative]}
"""


def two_sources(con, instagram_views: list[int | None]) -> None:
    con.execute("insert into meta.accounts values ('instagram', '17841', 'Gamma', 'UTC')")
    add_days(con, [day(f"v{i}", date(2026, 11, 10), i) for i in range(20)])
    add_days(con, [ig(f"m{i}", date(2026, 11, 10), v) for i, v in enumerate(instagram_views)])


def test_a_value_the_platform_did_not_report_is_null_and_passes(con):
    new_build(con)
    two_sources(con, [None, None, 7])
    summary = run(con, spec(NULLS_YAML))
    assert summary.success and not summary.held_back


def test_a_critical_failure_of_one_sources_rows_holds_that_source_back_only(con, tmp_path):
    build_id = new_build(con)
    two_sources(con, [3, -2, 5])
    summary = run(con, spec(NULLS_YAML), docs_dir=tmp_path / "quality")  # no CheckFailed
    assert not summary.success and summary.publishable
    assert summary.held_back == ["instagram"] and summary.platforms == {"youtube", "instagram"}
    line = summary.held_back_line("instagram")
    assert line.startswith(
        "instagram held back: marts.daily: ExpectColumnValuesToBeBetween(column=views, "
        "min_value=0) failed on 1 of 3 rows of instagram, e.g. "
    )
    assert '"item_id": "m1"' in line and '"youtube"' not in line and "\n" not in line
    assert "the other sources are published and instagram keeps its last published rows" in line
    checked = publishable_build(con)
    # the reason kept for the snapshot names no local path
    reason = line.split("; details in ")[0]
    assert checked.build_id == build_id and checked.held_back == {"instagram": reason}
    index = (tmp_path / "quality" / "index.html").read_text(encoding="utf-8")
    assert "held back instagram (the other sources publish)" in index
    assert "marts.daily[instagram]" in index  # GX's own validation of the source's rows


def test_a_failure_of_every_source_or_of_no_one_source_blocks_the_publish(con):
    new_build(con)
    two_sources(con, [3, 5])
    add_days(con, [day("bad", date(2026, 11, 11), -1), ig("bad", date(2026, 11, 11), -1)])
    with pytest.raises(CheckFailed, match="publish is blocked"):
        run(con, spec(NULLS_YAML))
    con.execute("delete from marts.daily where item_id = 'bad'")
    add_days(con, [(None, "x", "bad", date(2026, 11, 11), 1, "video")])  # whose is it?
    new_build(con)
    with pytest.raises(CheckFailed, match=r"NotBeNull\(column=platform\)"):
        run(con, spec(NULLS_YAML))
    with pytest.raises(ContentpulseError, match="failed its checks"):
        publishable_build(con)


def test_one_sources_duplicate_keys_or_emptied_rows_hold_it_back_and_are_no_baseline(con):
    yml = "grain: [platform, account_id, item_id, date]\n"
    new_build(con)
    two_sources(con, list(range(40)))
    assert run(con, spec(yml)).success
    con.execute(
        "insert into marts.daily select * from marts.daily where platform = 'instagram' limit 2"
    )
    new_build(con)
    summary = run(con, spec(yml))
    assert summary.held_back == ["instagram"]
    assert "ExpectCompoundColumnsToBeUnique" in summary.held_back_line("instagram")
    assert "failed on 4 of 42 rows of instagram" in summary.held_back_line("instagram")

    # instagram emptied: 1.7 % of the table's rows, but all of that source's
    con.execute("delete from marts.daily where platform = 'instagram'")
    new_build(con)
    summary = run(con, spec(yml))
    assert summary.held_back == ["instagram"]
    assert (
        "marts.daily: instagram's row count fell 100.0%, from 40 at the last passed check"
        in summary.held_back_line("instagram")
    )
    # the held-back count is no baseline; youtube's, which passed, is
    add_days(con, [day(f"w{i}", date(2026, 11, 11), i) for i in range(5)])
    new_build(con)
    summary = run(con, spec(yml))
    assert summary.held_back == ["instagram"] and "from 40 " in summary.held_back_line("instagram")
    baselines = checks._previous_row_counts(con)["marts.daily"]
    assert baselines["youtube"][0] == 25 and baselines["instagram"][0] == 40


def test_a_distribution_one_source_fails_on_its_own_holds_it_back(con):
    con.execute(
        "create table marts.performance (platform varchar, item_id varchar, "
        "performance_index double, is_outlier boolean)"
    )
    typical = [-1.0, -0.4, 0.0, 0.1, 0.3, 1.2]
    con.executemany(
        "insert into marts.performance values (?, ?, ?, false)",
        [["youtube", f"y{n}", x] for n, x in enumerate(typical)]
        + [["tiktok", f"t{n}", x + 3] for n, x in enumerate(typical)],
    )
    new_build(con)
    summary = run(
        con,
        spec(
            "grain: [platform, item_id]\n" + PERFORMANCE_YAML.split("\n", 2)[2], "marts.performance"
        ),
    )
    assert summary.held_back == ["tiktok"]
    assert "ExpectColumnMedianToBeBetween" in summary.held_back_line("tiktok")
    assert "over 6 values of tiktok" in summary.held_back_line("tiktok")
