"""DuckDB extensions (ducklake, httpfs, postgres_scanner): loaded from their PyPI wheels when
installed, which works offline, else installed from DuckDB's own repository.

DuckDB downloads an extension at `INSTALL` (or autoload) time, which fails on a machine with
no network. PyPI ships the same signed binaries as wheels, one package per extension
(`duckdb-extension-<name>`, holding `extensions/v<duckdb version>/<name>.duckdb_extension`);
a binary loads only into the DuckDB version it was built for. `load_extension` prefers the
wheel's binary for the running DuckDB, and falls back to `INSTALL` + `LOAD` (for a user with
network and no wheel); when neither works it is one error line.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import duckdb

from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import sql_string


def wheel_package(name: str) -> str:
    """The PyPI package that ships extension `name` (postgres_scanner ->
    duckdb-extension-postgres-scanner)."""
    return "duckdb-extension-" + name.replace("_", "-")


def wheel_binary(name: str) -> Path | None:
    """The binary of extension `name` for the running DuckDB, from its wheel; None when the
    wheel is not installed or holds another DuckDB version's build."""
    try:
        module = importlib.import_module(wheel_package(name).replace("-", "_"))
    except ImportError:
        return None
    folder = Path(next(iter(module.__path__))) / "extensions" / f"v{duckdb.__version__}"
    binary = folder / f"{name}.duckdb_extension"
    return binary if binary.is_file() else None


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load DuckDB extension `name` into `con`'s database: from its wheel when installed, else
    through `INSTALL` + `LOAD` (downloads it); a failure of both is one error line."""
    loaded = con.execute(
        "select loaded from duckdb_extensions() where extension_name = ?", [name]
    ).fetchall()
    if loaded and loaded[0][0]:
        return
    binary = wheel_binary(name)
    if binary is not None:
        try:
            con.execute(f"load {sql_string(str(binary))}")
        except duckdb.Error as exc:
            raise ContentpulseError(
                f"DuckDB extension {name}: {binary} does not load into DuckDB "
                f"{duckdb.__version__}: {_first_line(exc)}"
            ) from None
        return
    try:
        con.execute(f"install {name}")
        con.execute(f"load {name}")
    except duckdb.Error as exc:
        raise ContentpulseError(
            f"DuckDB extension {name}: not installed (pip install "
            f"{wheel_package(name)}=={duckdb.__version__}) and DuckDB could not install it: "
            f"{_first_line(exc)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    """DuckDB's message in one line: its first line, and the cause a failed download gives
    on its last ("(ERROR Could not establish connection)")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    cause = re.search(r"\(ERROR [^)]*\)", lines[-1]) if len(lines) > 1 else None
    return f"{lines[0]} {cause[0]}" if cause else lines[0]
