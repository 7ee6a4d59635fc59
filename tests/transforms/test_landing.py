"""Landing files on a local folder: written whole, found by their folders, read back, and
set aside when they no longer parse. (The object-store landing: tests/scale/test_object_store.py.)"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contentpulse.errors import ContentpulseError
from contentpulse.streams import CallLog, ExtractResult, Window
from contentpulse.tempfiles import HOST
from transforms.landing import (
    ASIDE,
    LandingFile,
    LandingStore,
    account_folder,
    completed_windows,
    list_files,
    read_landed,
    write_result,
    write_table,
)

NOV = Window(date(2026, 11, 1), date(2026, 11, 3))


def views(*rows: tuple[str, int]) -> pa.Table:
    return pa.table({"item_id": [r[0] for r in rows], "views": [r[1] for r in rows]})


def test_a_landed_table_is_found_by_source_stream_account_window_and_run(tmp_path):
    path = write_table(
        tmp_path, "youtube", "content_daily", "UC/../x", str(NOV), "night 1", views(("v1", 5))
    )
    [found] = list_files(tmp_path)
    assert found.path == path and Path(path).is_relative_to(tmp_path)
    assert (found.source, found.stream, found.account_id) == ("youtube", "content_daily", "UC_.._x")
    assert found.account_id == account_folder("UC/../x")  # no folder of its own name: no ..
    assert (found.window, found.run) == (NOV, "night_1")
    assert pq.read_table(path).equals(views(("v1", 5)))


def test_a_window_has_landed_once_its_extract_log_has_which_lands_last(tmp_path):
    done = ExtractResult(
        "youtube",
        "UCa",
        NOV,
        {"extract_log": pa.table({"calls": [3]}), "content_daily": views(("v1", 5))},
        CallLog(),
    )
    written = write_result(tmp_path, done, "night")
    assert "stream=extract_log" in str(written[-1]) and "stream=content_daily" in str(written[0])
    interrupted = Window(date(2026, 11, 4), date(2026, 11, 6))  # its metrics, no commit mark
    write_table(tmp_path, "youtube", "content_daily", "UCa", str(interrupted), "night", views())
    assert completed_windows(tmp_path, "youtube", "UCa") == [NOV]
    assert completed_windows(tmp_path, "youtube", "UCother") == []


def test_landed_state_is_every_files_columns_and_a_file_that_no_longer_parses_is_skipped(
    tmp_path, caplog
):
    assert read_landed(tmp_path, "tiktok", "content_items", "tt", ["item_id"]) is None
    for run, rows in (("r1", views(("a", 1))), ("r2", views(("b", 2), ("c", 3)))):
        write_table(tmp_path, "tiktok", "content_items", "tt", str(NOV), run, rows)
    bad = write_table(tmp_path, "tiktok", "content_items", "tt", str(NOV), "r3", views(("d", 4)))
    Path(bad).write_bytes(b"PAR1 not a parquet file any more")
    with caplog.at_level(logging.WARNING, logger="transforms.landing"):
        got = read_landed(tmp_path, "tiktok", "content_items", "tt", ["item_id"])
    assert sorted(got.column("item_id").to_pylist()) == ["a", "b", "c"]
    rel = str(Path(bad).relative_to(tmp_path))
    assert f"landing file {rel} is unreadable" in caplog.text
    assert f"`contentpulse landing redo {rel}`" in caplog.text


def test_a_file_that_no_longer_parses_is_named_and_set_aside_out_of_the_landing(tmp_path):
    store = LandingStore(tmp_path)
    good = write_table(store, "ga4", "content_daily", "123", str(NOV), "r1", views(("p", 1)))
    bad = write_table(store, "ga4", "content_daily", "123", str(NOV), "r2", views(("q", 2)))
    Path(bad).write_bytes(Path(bad).read_bytes()[:40])
    rel = store.relative(bad)
    files, unreadable = store.unreadable()
    assert files == 2 and [r for r, _ in unreadable] == [rel]
    moved = store.set_aside(rel)
    assert Path(moved) == tmp_path / ASIDE / rel and Path(moved).exists()
    assert [f.path for f in list_files(store)] == [good]


def test_a_landing_file_is_named_by_its_path_or_by_its_path_below_the_root(tmp_path):
    store = LandingStore(tmp_path)
    path = write_table(store, "youtube", "content_daily", "UCa", str(NOV), "r1", views())
    rel = store.relative(path)
    assert store.landing_file(str(path)) == store.landing_file(rel)
    assert store.landing_file(rel).window == NOV
    for name, error in (
        ("/etc/passwd", "not under the landing"),
        ("source=youtube/notes.txt", "not a landing file"),
        (rel.replace("r1__", "r9__"), "no such landing file"),
    ):
        with pytest.raises(ContentpulseError, match=error):
            store.landing_file(name)
    odd = LandingFile.parse(rel.replace(str(NOV), "soon"), path)
    with pytest.raises(ContentpulseError, match="'soon' is not a window"):
        _ = odd.window


def test_a_file_a_killed_extract_left_half_written_is_never_listed_and_swept(tmp_path):
    path = Path(write_table(tmp_path, "youtube", "content_daily", "UCa", str(NOV), "r1", views()))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    half = path.with_name(f".r2__0123456789ab.parquet.{HOST}-{gone.stdout.strip()}.tmp")
    half.write_bytes(b"PAR1 half")
    assert [f.path for f in list_files(tmp_path)] == [path]
    assert LandingStore(tmp_path).sweep() == 1
    assert not half.exists() and path.exists()
