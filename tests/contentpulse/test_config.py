"""Config: a good file loads with paths resolved; a bad one is one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from contentpulse.cli import main
from contentpulse.config import load_config
from contentpulse.errors import ConfigError
from tests.conftest import REPO

VALID = """
paths:
  landing: data/landing
sources:
  youtube:
    lookback_days: 4
    accounts:
      - {id: UCabc, name: Main, timezone: Europe/Berlin, conn_id: youtube_main}
"""


LAKE = "  lake: {catalog_conn_id: lake_catalog, data_path: 's3://lake-bucket/lake'}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contentpulse.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid():
    cfg = load_config(REPO / "contentpulse.example.yml")
    assert cfg.accounts(), "the example names at least one account"


def test_a_warehouse_and_a_snapshot_on_ducklakes_keep_no_secret_in_the_config(tmp_path):
    text = VALID.replace(
        "  landing: data/landing",
        "  warehouse: ducklake:warehouse\n  analytics: ducklake:analytics\n" + LAKE,
    )
    cfg = load_config(write(tmp_path, text))
    assert str(cfg.paths.warehouse) == "ducklake:warehouse"
    assert cfg.paths.analytics.data_url == "s3://lake-bucket/lake/analytics/"
    assert cfg.paths.analytics.catalog_conn_id == "lake_catalog"
    assert cfg.paths.reports == tmp_path / "data" / "reports"


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    cfg = load_config(write(tmp_path, VALID))
    assert cfg.paths.landing == tmp_path / "data" / "landing"
    assert cfg.paths.warehouse == tmp_path / "data" / "warehouse.duckdb"
    assert cfg.sources.youtube.lookback_days == 4
    assert [(p, a.id, a.timezone) for p, a in cfg.accounts()] == [
        ("youtube", "UCabc", "Europe/Berlin")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paths: [unclosed", "invalid YAML at line 1"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("pathz: {}\n", "pathz: unknown key"),
        (
            VALID.replace("lookback_days: 4", "lookback_days: many"),
            "sources.youtube.lookback_days: Input should be a valid integer",
        ),
        (
            VALID.replace("lookback_days: 4", "lookback_days: 0"),
            "sources.youtube.lookback_days: Input should be greater than or equal to 1",
        ),
        (
            VALID.replace("Europe/Berlin", "Mars/Olympus"),
            "sources.youtube.accounts[0].timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            VALID.replace("conn_id: youtube_main", "conn_id: ''"),
            "sources.youtube.accounts[0].conn_id",
        ),
        (
            VALID.replace("name: Main,", "name: Main, colour: blue,"),
            "sources.youtube.accounts[0].colour: unknown key",
        ),
        (VALID + "      - {id: UCabc, conn_id: other}\n", "account 'UCabc' is listed twice"),
        (
            VALID.replace("youtube:\n", "youtube:\n    base_url: 127.0.0.1:9\n"),
            "sources.youtube.base_url: must start with http://",
        ),
        (
            VALID.replace("  landing: data/landing", "  warehouse: ducklake:warehouse"),
            "names a DuckLake: paths.lake must say where its catalog and data are",
        ),
        (
            VALID.replace("  landing: data/landing", "  warehouse: ducklake:Main\n" + LAKE),
            "'ducklake:Main' is not a DuckLake this build attaches",
        ),
        (
            VALID.replace(
                "  landing: data/landing",
                "  warehouse: ducklake:a\n  analytics: ducklake:a\n" + LAKE,
            ),
            "warehouse and analytics both name ducklake:a",
        ),
        (
            VALID.replace("  landing: data/landing", LAKE),
            "lake is for a DuckLake warehouse or snapshot",
        ),
        (
            VALID.replace(
                "  landing: data/landing", "  warehouse: ducklake:w\n" + LAKE.replace("s3://", "")
            ),
            "paths.lake.data_path: 'lake-bucket/lake' is not an object-store URL",
        ),
    ],
)
def test_bad_config_is_one_line_naming_file_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_missing_config_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yml: config file not found"):
        load_config(tmp_path / "nope.yml")


def test_cli_prints_one_error_line_and_exits_2(tmp_path, capsys):
    path = write(tmp_path, "sources:\n  youtube:\n    accounts: 3\n")
    assert main(["--config", str(path), "load"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: sources.youtube.accounts: Input should be a valid list"]


def test_cli_rejects_reversed_backfill_dates(tmp_path, capsys):
    path = write(tmp_path, VALID)
    assert (
        main(["--config", str(path), "backfill", "--start", "2026-03-02", "--end", "2026-03-01"])
        == 2
    )
    assert "--end 2026-03-01 is before --start 2026-03-02" in capsys.readouterr().err


def test_backfill_without_start_needs_history_start(tmp_path, capsys):
    path = write(tmp_path, VALID)
    assert main(["--config", str(path), "backfill", "--end", "2026-03-01"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: backfill: give --start, or set history_start in the config"
    )
