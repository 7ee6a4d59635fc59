"""DuckDB extensions: from their wheel when it is installed (tests/scale/test_ducklake.py loads
the three offline), else `INSTALL` from DuckDB's repository (here one served on loopback),
else one error line. "Not installed" is a wheel whose import fails, as it does when the
package is absent."""

from __future__ import annotations

import gzip
import sys

import duckdb
import pytest

from contentpulse.errors import ContentpulseError
from contentpulse.extensions import load_extension, wheel_binary
from tests.servers import free_port, static_files


def loaded(con: duckdb.DuckDBPyConnection, name: str) -> tuple[bool, bool]:
    """(loaded, installed) of extension `name`."""
    return con.execute(
        "select loaded, installed from duckdb_extensions() where extension_name = ?", [name]
    ).fetchall()[0]


def test_without_its_wheel_an_extension_is_installed_from_the_repository(tmp_path, monkeypatch):
    binary = wheel_binary("httpfs")
    assert binary is not None, "duckdb-extension-httpfs is in the lock: uv sync"
    # DuckDB's repository layout, served on loopback: /v<version>/<platform>/<name>.duckdb_extension.gz
    platform = duckdb.connect().execute("pragma platform").fetchall()[0][0]
    folder = tmp_path / "repository" / f"v{duckdb.__version__}" / platform
    folder.mkdir(parents=True)
    (folder / "httpfs.duckdb_extension.gz").write_bytes(
        gzip.compress(binary.read_bytes(), compresslevel=1)
    )
    monkeypatch.setitem(sys.modules, "duckdb_extension_httpfs", None)  # the wheel is absent
    assert wheel_binary("httpfs") is None
    installed = tmp_path / "installed"
    with static_files(tmp_path / "repository") as repository:
        con = duckdb.connect(config={"extension_directory": str(installed)})
        con.execute(f"set custom_extension_repository = '{repository}'")
        assert loaded(con, "httpfs") == (False, False)
        load_extension(con, "httpfs")
        assert loaded(con, "httpfs") == (True, True)
    assert list(installed.rglob("httpfs.duckdb_extension"))


def test_an_extension_with_no_wheel_and_no_repository_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb_extension_httpfs", None)
    con = duckdb.connect(config={"extension_directory": str(tmp_path)})
    con.execute(f"set custom_extension_repository = 'http://127.0.0.1:{free_port()}'")
    with pytest.raises(ContentpulseError) as raised:
        load_extension(con, "httpfs")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        "DuckDB extension httpfs: not installed (pip install "
        f"duckdb-extension-httpfs=={duckdb.__version__}) and DuckDB could not install it: "
    )
    assert "Failed to download" in message and "(ERROR " in message
    assert loaded(con, "httpfs") == (False, False)
