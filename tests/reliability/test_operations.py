"""Operations a data engineer meets, through the real `contentpulse` command on a published
state (YouTube, Instagram and Facebook against the sandbox): a night before any data lands
no account days, and re-running a past night leaves every mart as it was; a loaded landing
file gone bad is skipped with one line, then set aside and extracted again on request; SIGTERM and SIGINT stop a run
with one line saying where, and leave no temporary file; what a SIGKILL leaves is swept by
the next run. (The check's Data Docs folder is cleaned up the same way: its own test, without
a GX run, is in tests/transforms/test_checks.py.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from contentpulse import pipeline
from contentpulse.config import Config, load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.warehouse import connect
from sandbox import Sandbox
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from tests.conftest import CLOCK, END, small_portfolio
from tests.marts import mart_checksums
from tests.processes import signal_held
from tests.reliability.test_bad_input import fingerprint

CONTENTPULSE = str(Path(sys.executable).parent / "contentpulse")


@dataclass
class Published:
    root: Path
    config: dict
    marts: dict[str, str]
    fingerprint: dict[str, str]
    sandbox: Sandbox


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Iterator[Published]:
    """A small backfill of two channels, an Instagram account and a Facebook page, published."""
    root = tmp_path_factory.mktemp("operations")
    youtube = small_portfolio(videos=6, days=40)
    social = SocialPortfolio(
        [
            SocialAccountSpec("instagram", "ops.news", 20, "America/New_York"),
            SocialAccountSpec("facebook", "Ops News", 15, "Europe/Berlin", 0.7),
        ],
        youtube.start,
        END,
        youtube=youtube,
    )
    with Sandbox(youtube, clock=CLOCK, social=social) as sandbox:
        path = write_sandbox_config(root / "contentpulse.yml", sandbox, root / "data")
        steps = pipeline.backfill(load_config(path), youtube.start, END)
        assert not any(s.errors for s in steps), [s.errors for s in steps]
        analytics = root / "data" / "analytics.duckdb"
        yield Published(
            root,
            yaml.safe_load(path.read_text(encoding="utf-8")),
            mart_checksums(analytics),
            fingerprint(root / "data"),
            sandbox,
        )


def copy_of(published: Published, tmp_path: Path) -> tuple[Path, Config]:
    """A copy of the published data folder and its config: (config file, config)."""
    data = tmp_path / "data"
    shutil.copytree(published.root / "data", data)
    cfg = dict(published.config)
    cfg["paths"] = {
        "landing": str(data / "landing"),
        "warehouse": str(data / "warehouse.duckdb"),
        "analytics": str(data / "analytics.duckdb"),
        "reports": str(data / "reports"),
    }
    path = tmp_path / "contentpulse.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path, load_config(path)


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CONTENTPULSE, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )


def lines(stderr: str, start: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(start)]


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line[8:16] == " WARNING"]


def temporaries(data: Path) -> list[Path]:
    return [p for p in data.rglob(".*") if ".tmp" in p.name or p.name.endswith(".old")]


def test_a_night_before_the_data_lands_nothing_and_a_past_night_leaves_every_mart_as_it_was(
    published: Published, tmp_path: Path
):
    config, cfg = copy_of(published, tmp_path)
    before = cli(config, "extract", "--date", "2024-02-29")
    assert before.returncode == 0, before.stderr[-3000:]
    outside = [w for w in warnings(before.stderr) if "outside the account's data" in w]
    assert len(outside) == 2, before.stderr[-3000:]  # the Instagram account and the page
    for platform in ("instagram", "facebook"):
        account = published.config["sources"][platform]["accounts"][0]["id"]
        line = next(w for w in outside if f"{platform} {account}:" in w)
        assert "2024-02-27_2024-02-29" in line and "no account days landed" in line

    # the night of three days ago, on a warehouse holding the days after it, loads the
    # files of the night before the data too: it passes, and no mart changes
    past = cli(config, "run", "--date", str(END - timedelta(days=3)))
    assert past.returncode == 0, past.stderr[-3000:]
    with connect(cfg.paths.warehouse, read_only=True) as con:
        for platform in ("instagram", "facebook"):
            early = con.execute(
                f"select count(*) from raw.{platform}__account_daily where date < ?",
                [date(2026, 1, 1)],
            ).fetchall()[0][0]
            assert early == 0, platform
    assert mart_checksums(cfg.paths.analytics) == published.marts


def test_a_loaded_landing_file_gone_bad_is_skipped_then_set_aside_and_extracted_again(
    published: Published, tmp_path: Path
):
    config, cfg = copy_of(published, tmp_path)
    landing = cfg.paths.landing
    bad = sorted(landing.glob("source=instagram/stream=content_snapshots/*/*/*.parquet"))[0]
    rel = str(bad.relative_to(landing))
    with connect(cfg.paths.warehouse, read_only=True) as con:
        held = con.execute(
            "select count(*) from raw.instagram__content_snapshots where landing_file = ?", [rel]
        ).fetchall()[0][0]
    assert held > 0
    bad.write_bytes(os.urandom(bad.stat().st_size))  # disk rot over a loaded file

    night = cli(config, "extract", "--date", str(END))  # the step that reads landed state
    assert night.returncode == 0 and "Traceback" not in night.stderr, night.stderr[-3000:]
    named = [w for w in warnings(night.stderr) if rel in w]
    assert len(named) == 1 and "is unreadable" in named[0], night.stderr[-3000:]
    assert f"contentpulse landing redo {rel}" in named[0]
    with connect(cfg.paths.warehouse, read_only=True) as con:  # what it held is still there
        kept = con.execute(
            "select count(*) from raw.instagram__content_snapshots where landing_file = ?", [rel]
        ).fetchall()[0][0]
    assert kept == held
    assert pipeline.load(cfg).rows > 0  # the night goes on

    check = cli(config, "landing", "check")
    errors = lines(check.stderr, "error: ")
    assert check.returncode == 1 and len(errors) == 1, check.stderr[-3000:]
    assert errors[0].startswith(f"error: landing file {rel} is unreadable (")
    assert "Parquet magic bytes not found" in errors[0]
    assert errors[0].endswith(
        f"`contentpulse landing redo {rel}` sets it aside and re-extracts its window"
    )

    redo = cli(config, "landing", "redo", str(bad))
    assert redo.returncode == 0, redo.stderr[-3000:]
    assert not bad.exists() and (landing / "unreadable" / rel).exists()
    window = bad.parent.name
    again = list(
        landing.glob(f"source=instagram/stream=*/{bad.parent.parent.name}/{window}/redo__*")
    )
    assert {p.parent.parent.parent.name for p in again} >= {
        "stream=content_items",
        "stream=account_daily",
        "stream=extract_log",
    }
    assert pipeline.landing_check(cfg).errors == []
    assert pipeline.load(cfg).rows > 0


def test_sigterm_mid_extract_stops_in_one_line_and_leaves_no_partial_landing_file(
    published: Published, tmp_path: Path
):
    config, cfg = copy_of(published, tmp_path)
    code, stderr = signal_held(  # the first unit's second file is half written
        "pyarrow.parquet:write_table",
        ["--config", str(config), "run", "--date", str(END)],
        signal.SIGTERM,
        nth=2,
    )
    assert code == 128 + signal.SIGTERM and "Traceback" not in stderr, stderr[-3000:]
    assert lines(stderr, "error: ") == [
        "error: run: stopped by SIGTERM during extract youtube: 0/4 units; what had finished "
        "is kept (landed files, the published snapshot and reports), and the next run resumes "
        "from there"
    ], stderr[-3000:]
    assert temporaries(tmp_path / "data") == []
    assert fingerprint(tmp_path / "data") == published.fingerprint
    # the unit's first file landed whole; its commit mark did not, so the next run redoes it
    assert pipeline.load(cfg).rows > 0


def test_sigint_mid_report_stops_in_one_line_and_leaves_no_temporary_file(
    published: Published, tmp_path: Path
):
    config, cfg = copy_of(published, tmp_path)
    reports = cfg.paths.reports
    code, stderr = signal_held(  # the page is written beside, not yet renamed over
        "pathlib:Path.write_text",
        ["--config", str(config), "report"],
        signal.SIGINT,
        also=lambda: any(reports.glob(".weekly-*.tmp")),
    )
    assert code == 128 + signal.SIGINT and "Traceback" not in stderr, stderr[-3000:]
    assert lines(stderr, "error: ") == [
        "error: report: stopped by SIGINT during report; what had finished is kept (landed "
        "files, the published snapshot and reports), and the next run resumes from there"
    ], stderr[-3000:]
    assert temporaries(tmp_path / "data") == []
    assert fingerprint(tmp_path / "data") == published.fingerprint


def test_what_a_publish_killed_mid_write_leaves_is_swept_by_the_next(
    published: Published, tmp_path: Path
):
    config, cfg = copy_of(published, tmp_path)
    data = tmp_path / "data"
    code, _ = signal_held(
        "transforms.publish:_fill", ["--config", str(config), "publish"], signal.SIGKILL
    )
    assert code == -signal.SIGKILL
    left = sorted(p.name for p in temporaries(data))
    assert (
        len(left) == 2 and left[0].startswith(".analytics.duckdb.") and left[1].endswith(".tmp.wal")
    ), left
    assert fingerprint(data) == published.fingerprint  # the published snapshot is untouched

    pipeline.publish(cfg)
    assert temporaries(data) == []
    assert mart_checksums(cfg.paths.analytics) == published.marts
