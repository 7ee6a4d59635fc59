"""The CSV export connector through the pipeline's extract step, on LinkedIn and X exports
written by the sample generator: exact landing against the ground truth, files landed once,
a day-later export as a second snapshot, corrected files, strict rejection of malformed
files (file + line, nothing half-landed, the good files still land), config errors, and
the staging models built on a temporary warehouse."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
import yaml

from connectors.csv_export import export_date_from_name, parse_count, parse_duration
from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.errors import ConfigError
from contentpulse.streams import Window
from contentpulse.warehouse import open_warehouse
from models.runner import MODELS_DIR, BuildContext
from models.runner import build as build_models
from sandbox.csv_exports import X_HEADER, ExportPortfolio, export_types
from tests.conftest import REPO
from transforms.checks import load_checks, run_checks
from transforms.load import load

END = date(2026, 11, 20)
LINKEDIN, X = "northwind-linkedin", "northwind-x"


@pytest.fixture(scope="module")
def portfolio() -> ExportPortfolio:
    return ExportPortfolio.demo(END, posts=30)


def write_config(
    tmp_path: Path, portfolio: ExportPortfolio, linkedin_extra: dict[str, dict] | None = None
) -> Config:
    """A config reading the portfolio's accounts from <tmp>/inbox; `linkedin_extra` adds
    export types to the LinkedIn account."""
    extra = linkedin_extra or {}
    accounts = [
        {
            "id": spec.account_id,
            "name": spec.name,
            "timezone": spec.timezone,
            "exports": ["linkedin_posts", *extra] if spec.platform == "linkedin" else ["x_posts"],
        }
        for spec in portfolio.specs.values()
    ]
    text = {
        "paths": {
            "landing": "data/landing",
            "warehouse": "data/warehouse.duckdb",
            "analytics": "data/analytics.duckdb",
            "reports": "data/reports",
        },
        "sources": {
            "csv_export": {
                "inbox": "inbox",
                "exports": {**export_types(), **extra},
                "accounts": accounts,
            }
        },
    }
    (tmp_path / "inbox").mkdir(exist_ok=True)
    path = tmp_path / "contentpulse.yml"
    path.write_text(yaml.safe_dump(text, allow_unicode=True), encoding="utf-8")
    return load_config(path)


@pytest.fixture
def cfg(tmp_path: Path, portfolio: ExportPortfolio) -> Config:
    return write_config(tmp_path, portfolio)


def drop(cfg: Config, portfolio: ExportPortfolio, account_id: str, through: date = END) -> Path:
    return portfolio.write(cfg.sources.csv_export.inbox / account_id, account_id, through)


def run(cfg: Config, run_id: str = "run1") -> pipeline.StepResult:
    return pipeline.extract_source(cfg, "csv_export", [LINKEDIN, X], Window(END, END), run_id)


def landed(cfg: Config, stream: str) -> list[dict]:
    folder = cfg.paths.landing / "source=csv_export" / f"stream={stream}"
    files = sorted(str(p) for p in folder.glob("account=*/window=*/*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pylist() if files else []


def landing_files(cfg: Config) -> list[Path]:
    """The data files landed (each run also lands its run_log record, for `status`)."""
    return sorted(
        p for p in cfg.paths.landing.glob("**/*.parquet") if "stream=run_log" not in str(p)
    )


@contextmanager
def built(cfg: Config, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Load the landing files and build the CSV staging models alone (in a models folder of
    their own: the other layers are not this connector's)."""
    models = tmp_path / "models" / "staging"
    models.mkdir(parents=True, exist_ok=True)
    for path in (MODELS_DIR / "staging").glob("stg_csv_export__*"):
        shutil.copy(path, models)
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build_models(con, models.parent, context=BuildContext(config=cfg))
        yield con


def staged(cfg: Config, tmp_path: Path, sql: str) -> list[tuple]:
    with built(cfg, tmp_path) as con:
        return con.execute(sql).fetchall()


METRIC_COLUMNS = ("impressions", "views", "clicks", "likes", "comments", "shares")


def truth_by_item(portfolio: ExportPortfolio, account_id: str, through: date) -> dict:
    return {r["item_id"]: r for r in portfolio.truth(account_id, through)}


# --- landing ---------------------------------------------------------------------------------


def test_exports_land_exactly_the_ground_truth(cfg, portfolio):
    drop(cfg, portfolio, LINKEDIN)
    drop(cfg, portfolio, X)

    step = run(cfg)

    assert step.errors == []
    snapshots, items = landed(cfg, "content_snapshots"), landed(cfg, "content_items")
    for account_id, platform in ((LINKEDIN, "linkedin"), (X, "x")):
        truth = truth_by_item(portfolio, account_id, END)
        got = {r["item_id"]: r for r in snapshots if r["account_id"] == account_id}
        assert got.keys() == truth.keys() and len(truth) == 30
        for item_id, row in got.items():
            expected = truth[item_id]
            assert row["platform"] == platform
            assert row["snapshot_date"] == END
            assert {m: row[m] for m in METRIC_COLUMNS} == {m: expected[m] for m in METRIC_COLUMNS}
            assert row["followers_gained"] == expected["followers_gained"]
            assert row["reach"] is None and row["saves"] is None  # not in these exports
        got_items = {r["item_id"]: r for r in items if r["account_id"] == account_id}
        assert got_items.keys() == truth.keys()
        for item_id, item in got_items.items():
            expected = truth[item_id]
            assert item["title"] == expected["title"]  # hostile text, quotes, newlines intact
            assert item["url"] == expected["url"]
            assert item["published_at"] == expected["published_at"]
            assert item["format"] == expected["format"]
    # views are each platform's headline figure, impressions (export_types maps them)
    linkedin = [r for r in snapshots if r["account_id"] == LINKEDIN]
    assert all(r["views"] == r["impressions"] for r in snapshots)
    # LinkedIn's item id comes out of the post link through item_id_pattern
    assert all(r["item_id"].isdigit() for r in linkedin)
    tagged = [i for i in items if "#media" in (i["title"] or "")]
    assert tagged and all(i["tags"] == ["media", "datajournalism"] for i in tagged)
    linked = [i for i in items if "Read more: https://" in (i["title"] or "")]
    assert linked and all(i["links"][0].startswith("https://northwind.example/") for i in linked)
    logs = landed(cfg, "extract_log")
    assert sorted((r["account_id"], r["rows"]) for r in logs) == [(LINKEDIN, 30), (X, 30)]
    assert step.rows == 120  # 60 snapshots and 60 items


def test_a_file_dropped_again_lands_nothing(cfg, portfolio):
    first = drop(cfg, portfolio, LINKEDIN)
    drop(cfg, portfolio, X)
    run(cfg)
    files = landing_files(cfg)
    # the same content under another name (a second download of the same export)
    shutil.copy(first, first.with_name("copy of " + first.name))

    step = run(cfg, "run2")

    assert step.errors == [] and step.rows == 0
    assert landing_files(cfg) == files


def test_an_export_a_day_later_gives_a_second_snapshot(cfg, portfolio, tmp_path):
    drop(cfg, portfolio, LINKEDIN, END - timedelta(days=1))
    run(cfg, "run1")
    drop(cfg, portfolio, LINKEDIN, END)

    step = run(cfg, "run2")

    assert step.errors == [] and step.rows == 60
    rows = staged(
        cfg,
        tmp_path,
        "select item_id, snapshot_date, impressions, likes from staging.stg_csv_export__snapshots",
    )
    got = {(item, day): (impressions, likes) for item, day, impressions, likes in rows}
    expected = {
        (r["item_id"], day): (r["impressions"], r["likes"])
        for day in (END - timedelta(days=1), END)
        for r in portfolio.truth(LINKEDIN, day)
    }
    assert got == expected
    older = {k[0] for k in got if k[1] == END - timedelta(days=1)}
    assert older <= {k[0] for k in got if k[1] == END}
    assert any(got[(i, END)][0] > got[(i, END - timedelta(days=1))][0] for i in older)


def test_inbox_files_are_never_modified(cfg, portfolio):
    good = drop(cfg, portfolio, LINKEDIN)
    bad = drop(cfg, portfolio, X)
    bad.write_bytes(bad.read_bytes().replace(b"impressions", b"Impressions", 1))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (good, bad)}

    run(cfg)
    run(cfg, "run2")

    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (good, bad)} == before
    assert sorted(p.name for p in good.parent.parent.glob("*/*")) == sorted([good.name, bad.name])


def test_only_files_of_the_account_export_types_are_read(cfg, portfolio, caplog):
    good = drop(cfg, portfolio, LINKEDIN)
    folder = good.parent
    (folder / "notes.txt").write_text("ask Sam about the Q4 export", encoding="utf-8")
    (folder / ".~lock.linkedin_2026-11-20.csv#").write_text("lock", encoding="utf-8")
    (folder / "linkedin_2026-11-21.csv.crdownload").write_bytes(b"Post title,Po")
    (folder / "archive").mkdir()
    shutil.copy(good, folder / "archive" / "old_linkedin_2026-11-01.csv")
    # X's export in the LinkedIn account's folder is not one of its export types
    portfolio.write(folder, X, END)

    step = run(cfg)  # the X account has no folder yet: nothing to read, no error

    assert step.errors == []
    assert [r["source_file"] for r in landed(cfg, "extract_log")] == [good.name]
    assert "2 files match none of the account's export types (linkedin_posts)" in caplog.text


# --- malformed files ------------------------------------------------------------------------


def records(path: Path) -> tuple[str, list[list[str]]]:
    text = path.read_text(encoding="utf-8")
    return text, list(csv.reader(io.StringIO(text, newline="")))


def rewrite(path: Path, rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return out.getvalue()


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def wrong_columns(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows[0][X_HEADER.index("retweets")] = "Retweets (organic)"
    rewrite(path, rows)
    return 1, "missing column(s) 'retweets' (the header has 'Tweet id', "


def bad_number(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows[9][X_HEADER.index("likes")] = "1.2K"
    text = rewrite(path, rows)
    return line_of(text, rows[9][0]), "column 'likes': '1.2K' is not a count"


def percentage_in_a_count(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows[4][X_HEADER.index("impressions")] = "12%"
    text = rewrite(path, rows)
    return line_of(text, rows[4][0]), "column 'impressions': '12%' is a percentage, not a count"


def truncated_row(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows[7] = rows[7][:14]
    text = rewrite(path, rows)
    return line_of(text, rows[7][0]), "14 fields where the header has 22 (a truncated or shifted"


def truncated_file(path: Path) -> tuple[int, str]:
    """Cut inside a quoted multi-line tweet: the last record never closes its quote."""
    text, rows = records(path)
    record = next(r for r in rows[1:] if "\nRead more" in r[2])
    cut = text.index("\nRead more", text.index(record[0])) + 1
    path.write_bytes(text[:cut].encode("utf-8"))
    return line_of(text, record[0]), "a quoted value here never closes (a truncated file?)"


def stray_quote(path: Path) -> tuple[int, str]:
    text, rows = records(path)
    needle = f"{rows[6][0]},{rows[6][1]},"
    path.write_text(text.replace(needle, needle + '"Quoted" then not,', 1), encoding="utf-8")
    return line_of(text, rows[6][0]), "unreadable CSV: ',' expected after '\"'"


def wrong_encoding(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows[12][2] = "Caf\u00e9 culture, mapped"
    text = rewrite(path, rows)
    path.write_bytes(text.encode("utf-8").replace("Caf\u00e9".encode(), b"Caf\xe9"))
    return line_of(text, rows[12][0]), "not valid utf-8 (byte 0xe9); export it again as utf-8"


def duplicate_row(path: Path) -> tuple[int, str]:
    _, rows = records(path)
    rows.append(rows[3])
    text = rewrite(path, rows)
    return text.count("\n") - rows[3][2].count("\n"), (
        f"item {rows[3][0]} for {END} is already on line {line_of(text, rows[3][0])}"
    )


def excel_workbook(path: Path) -> tuple[int, str]:
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    return 1, "this is an Excel .xlsx workbook, not CSV: save it as CSV UTF-8"


@pytest.mark.parametrize(
    "spoil",
    [
        wrong_columns,
        bad_number,
        percentage_in_a_count,
        truncated_row,
        truncated_file,
        stray_quote,
        wrong_encoding,
        duplicate_row,
        excel_workbook,
    ],
)
def test_a_malformed_file_is_rejected_with_its_line_and_nothing_of_it_lands(cfg, portfolio, spoil):
    drop(cfg, portfolio, LINKEDIN)
    bad = drop(cfg, portfolio, X)
    line, what = spoil(bad)

    step = run(cfg)

    assert len(step.errors) == 1
    assert step.errors[0].startswith(f"csv_export {X}: {bad.name}: line {line}: {what}")
    assert step.errors[0].endswith("; nothing of it landed")
    assert "\n" not in step.errors[0]
    for stream in ("content_items", "content_snapshots", "extract_log"):
        rows = landed(cfg, stream)
        assert {r["account_id"] for r in rows} == {LINKEDIN}  # the good file still landed
    assert len(landed(cfg, "content_snapshots")) == 30

    # the corrected export lands at the next run; the rejected content never marked landed
    portfolio.write(bad.parent, X, END)
    again = run(cfg, "run2")
    assert again.errors == [] and again.rows == 60


def test_a_snapshot_file_without_a_date_in_its_name_is_rejected(cfg, portfolio):
    path = drop(cfg, portfolio, X)
    path.rename(path.with_name("tweet_activity_metrics_northwind_en.csv"))

    step = run(cfg)

    assert step.errors == [
        f"csv_export {X}: tweet_activity_metrics_northwind_en.csv: no date (YYYY-MM-DD or "
        "YYYYMMDD) in the file name: name it with the day its counters are complete through, "
        "or set the export type's export_date; nothing of it landed"
    ]
    assert landed(cfg, "extract_log") == []


def test_a_missing_inbox_is_one_line(tmp_path, portfolio):
    cfg = write_config(tmp_path, portfolio)
    cfg.sources.csv_export.inbox.rmdir()

    step = run(cfg)

    assert sorted(step.errors) == [
        f"csv_export {account}: inbox folder {tmp_path / 'inbox'} not found "
        "(create it, or fix sources.csv_export.inbox)"
        for account in (LINKEDIN, X)
    ]


# --- corrections, daily exports, staging ----------------------------------------------------


def test_a_corrected_file_with_the_same_name_lands_and_wins(cfg, portfolio, tmp_path):
    path = drop(cfg, portfolio, LINKEDIN)
    run(cfg)
    description, rest = path.read_bytes().decode("utf-8").split("\r\n", 1)
    rows = list(csv.reader(io.StringIO(rest, newline="")))
    header = rows[0]
    corrected_id = rows[1][header.index("Post link")].rsplit(":", 1)[1]
    dropped_id = rows[2][header.index("Post link")].rsplit(":", 1)[1]
    rows[1][header.index("Reactions")] = "9,999"
    del rows[2]
    path.write_text(description + "\r\n" + rewrite(path, rows), encoding="utf-8", newline="")

    step = run(cfg, "run2")

    assert step.errors == [] and step.rows == 58
    got = dict(
        staged(
            cfg,
            tmp_path,
            "select item_id, likes from staging.stg_csv_export__snapshots "
            f"where account_id = '{LINKEDIN}'",
        )
    )
    assert got[corrected_id] == 9999
    assert dropped_id not in got  # the correction replaced its earlier version whole
    assert len(got) == 29


DAILY_EXPORT = {
    "platform": "linkedin",
    "kind": "daily",
    "match": "*daily*.csv",
    "date_format": "%Y-%m-%d",
    "columns": {
        "item_id": "Post ID",
        "date": "Day",
        "published_at": "Published",
        "title": "Title",
        "duration_s": "Length",
        "views": "Views",
        "watch_time_s": "Watch time (s)",
        "likes": "Likes",
    },
}
DAILY_FILE = (
    "Post ID,Day,Published,Title,Length,Views,Watch time (s),Likes,Engagement rate\n"
    'p1,2026-11-18,2026-11-18,First #launch,1:05,"1,204","36,120",31,2.5%\n'
    'p1,2026-11-19,2026-11-18,First #launch,1:05,310,"9,300",—,1.1%\n'
    "p2,2026-11-19,2026-11-19,Second,,88,,4,\n"
    "\n"
)


def test_a_daily_export_lands_item_days(tmp_path, portfolio):
    cfg = write_config(tmp_path, portfolio, {"li_daily": DAILY_EXPORT})
    folder = cfg.sources.csv_export.inbox / LINKEDIN
    folder.mkdir(parents=True)
    (folder / "posts_daily_2026-11.csv").write_text(DAILY_FILE, encoding="utf-8")

    step = run(cfg)

    assert step.errors == []
    rows = staged(
        cfg,
        tmp_path,
        "select item_id, date, views, watch_time_s, likes, impressions "
        "from staging.stg_csv_export__item_daily order by all",
    )
    assert rows == [
        ("p1", date(2026, 11, 18), 1204, 36120, 31, None),
        ("p1", date(2026, 11, 19), 310, 9300, None, None),
        ("p2", date(2026, 11, 19), 88, None, 4, None),
    ]
    items = {r["item_id"]: r for r in landed(cfg, "content_items")}
    assert items["p1"]["duration_s"] == 65 and items["p2"]["duration_s"] is None
    assert items["p1"]["tags"] == ["launch"]
    # a date-only publish time is midnight in the account's zone (America/New_York)
    assert items["p2"]["published_at"] == datetime(2026, 11, 19, 5, tzinfo=UTC)
    (log,) = landed(cfg, "extract_log")
    assert (log["window_start"], log["window_end"], log["rows"]) == (
        date(2026, 11, 18),
        date(2026, 11, 19),
        3,
    )


def test_staging_models_build_with_their_documented_columns(cfg, portfolio, tmp_path):
    drop(cfg, portfolio, LINKEDIN)
    drop(cfg, portfolio, X)
    run(cfg)
    with built(cfg, tmp_path) as con:
        for model in ("posts", "snapshots", "item_daily", "extractions"):
            table = f"stg_csv_export__{model}"
            doc = yaml.safe_load((MODELS_DIR / "staging" / f"{table}.yml").read_text())
            columns = [r[0] for r in con.execute(f"describe staging.{table}").fetchall()]
            assert columns == [c["name"] for c in doc["columns"]]
            grain = ", ".join(doc["grain"])
            dupes = con.execute(
                f"select count(*) from (select {grain} from staging.{table} "
                "group by all having count(*) > 1)"
            ).fetchall()[0][0]
            assert dupes == 0
        posts = con.execute(
            "select platform, count(*), count(distinct format) from staging.stg_csv_export__posts "
            "group by all order by all"
        ).fetchall()
        assert posts == [("linkedin", 30, 3), ("x", 30, 1)]
        logs = con.execute(
            "select platform, rows_landed, last_date_returned, calls "
            "from staging.stg_csv_export__extractions order by all"
        ).fetchall()
        assert logs == [("linkedin", 30, END, 0), ("x", 30, END, 0)]
        # the YAML's tests hold as quality checks (a failed critical one raises CheckFailed)
        checks = run_checks(con, END, models=load_checks(tmp_path / "models"))
        assert checks.warnings == [] and len(checks.results) > 40


# --- values and config ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", 1234),
        ("1,234", 1234),
        ("1,234,567", 1234567),
        ("157.0", 157),
        (" 12 ", 12),
        ("", None),
        ("—", None),
        ("-", None),
        ("N/A", None),
    ],
)
def test_counts_as_platforms_export_them(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12%", "'12%' is a percentage, not a count"),
        ("1.5", "'1.5' is not a whole number"),
        ("-3", "'-3' is negative, and counts never are"),
        ("1,23", "'1,23' is not a count"),
        ("1.2K", "'1.2K' is not a count"),
        ("twelve", "'twelve' is not a count"),
        ("99999999999999999999", "'99999999999999999999' is too large for a count"),
    ],
)
def test_anything_else_is_not_a_count(text, message):
    with pytest.raises(ValueError) as exc:
        parse_count(text)
    assert str(exc.value) == message


def test_durations_and_dates_in_file_names():
    assert [parse_duration(v) for v in ("95", "1:35", "1:01:35", "")] == [95, 95, 3695, None]
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("1:75")
    assert export_date_from_name("x_20261022_20261120_en.csv") == date(2026, 11, 20)
    assert export_date_from_name("li_content_2026-11-19.csv") == date(2026, 11, 19)
    assert export_date_from_name("li_content_1732060800000.csv") is None  # a ms timestamp


GOOD_SOURCE = """
sources:
  csv_export:
    exports:
      li:
        platform: linkedin
        match: "*linkedin*.csv"
        columns: {item_id: Post link, published_at: Created date, likes: Reactions}
    accounts:
      - {id: nw-li, exports: [li]}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "likes: Reactions",
            "likez: Reactions",
            "sources.csv_export.exports.li.columns: 'likez' is not a stream column (known: ",
        ),
        (
            "published_at: Created date, ",
            "",
            "sources.csv_export.exports.li.columns: a snapshot export must map published_at",
        ),
        (
            "match:",
            "kind: daily\n        match:",
            "sources.csv_export.exports.li.columns: a daily export must map date",
        ),
        (
            "match:",
            "sheet: 1\n        match:",
            "sources.csv_export.exports.li.sheet: unknown key",
        ),
        (
            "exports: [li]",
            "exports: [lnkd]",
            "sources.csv_export.accounts[0].exports: unknown export type 'lnkd' (known: li)",
        ),
        (
            ", exports: [li]",
            "",
            "sources.csv_export.accounts[0].exports: Field required",
        ),
        (
            "match:",
            "item_id_pattern: 'urn:li:activity:\\d+'\n        match:",
            "sources.csv_export.exports.li.item_id_pattern: needs a (group) around the item id",
        ),
        (
            "match:",
            "encoding: utf-9\n        match:",
            "sources.csv_export.exports.li.encoding: unknown encoding 'utf-9'",
        ),
        (
            "platform: linkedin",
            "platform: LinkedIn",
            "sources.csv_export.exports.li.platform: String should match pattern",
        ),
    ],
)
def test_a_bad_mapping_is_one_config_line_naming_the_field(tmp_path, old, new, expected):
    assert old in GOOD_SOURCE
    path = tmp_path / "contentpulse.yml"
    path.write_text(GOOD_SOURCE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(exc.value)


def test_a_good_mapping_needs_no_connection_and_resolves_the_inbox(tmp_path):
    path = tmp_path / "contentpulse.yml"
    path.write_text(GOOD_SOURCE, encoding="utf-8")
    source = load_config(path).sources.csv_export
    assert source.inbox == tmp_path / "data" / "inbox"
    assert source.accounts[0].conn_id is None
    assert (
        source.exports["li"].kind == "snapshot" and source.exports["li"].export_date == "filename"
    )


def test_the_example_config_block_reads_the_sample_exports(tmp_path):
    """contentpulse.example.yml's commented csv_export block, uncommented, is valid and
    declares the mappings the sample exports are written for."""
    text = (REPO / "contentpulse.example.yml").read_text(encoding="utf-8")
    start = text.index("  # csv_export:")
    block = "\n".join(
        line.replace("  # ", "  ", 1) if line.startswith("  # ") else line
        for line in text[start:].splitlines()
    )
    path = tmp_path / "contentpulse.yml"
    path.write_text(text[:start] + block + "\n", encoding="utf-8")
    for account in ("123456789", "UC_x5XG1OV2P6uZZ5FSM9Ttw"):
        assert account in text  # the other sources stay as they are

    source = load_config(path).sources.csv_export

    samples = export_types()
    assert source.exports.keys() == samples.keys()
    for name, export in source.exports.items():
        declared = export.model_dump(exclude_defaults=True)
        assert declared == {k: v for k, v in samples[name].items() if k in declared}
        assert export.columns == samples[name]["columns"]


# --- killed runs (the fault matrix's kill cells, for the file source) --------------------------


def test_a_run_killed_mid_extract_then_mid_load_resumes_to_the_truth(cfg, portfolio, tmp_path):
    """`contentpulse extract` SIGKILLed once its first landing file is there, then
    `contentpulse load` SIGKILLed inside its transaction, half its files inserted: the next
    run lands the rest, every snapshot equals the exports' truth, and no file or row is
    loaded twice."""
    from tests.processes import kill_load_mid_transaction, kill_when
    from tests.reliability.matrix import assert_nothing_loaded_twice, contentpulse

    days = [END - timedelta(days=d) for d in range(9, -1, -1)]
    for day in days:
        for account in (LINKEDIN, X):
            drop(cfg, portfolio, account, day)
    config = tmp_path / "contentpulse.yml"
    pycache = tmp_path / "pycache"

    kill_when(
        contentpulse(config, "extract", "--date", str(END)),
        lambda: any(landing_files(cfg)),
        pycache,
    )
    landed_before = len(landing_files(cfg))
    inserted, _ = kill_load_mid_transaction(config, pycache)
    assert inserted >= 1, "files inserted before the kill"

    assert run(cfg, "after_the_kills").errors == []
    assert len(landing_files(cfg)) > landed_before
    rows = staged(
        cfg,
        tmp_path,
        "select account_id, item_id, snapshot_date, impressions, likes "
        "from staging.stg_csv_export__snapshots",
    )
    got = {(a, i, d): (impressions, likes) for a, i, d, impressions, likes in rows}
    expected = {
        (account, r["item_id"], day): (r["impressions"], r["likes"])
        for account in (LINKEDIN, X)
        for day in days
        for r in portfolio.truth(account, day)
    }
    assert len(rows) == len(got) == len(expected) > 0
    assert got == expected
    with open_warehouse(cfg.paths.warehouse) as con:
        assert_nothing_loaded_twice(con, "csv_export")
