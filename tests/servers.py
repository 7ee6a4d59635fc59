"""Servers the tests start on 127.0.0.1 and stop afterwards: a private PostgreSQL (Airflow's
metadata DB and Celery result backend in the Celery test, a DuckLake catalog in the lake
tests), moto's S3 server (the object store of the landing and of the lake), and a folder
served over HTTP (a DuckDB extension repository).

`Postgres` is Debian's PostgreSQL (`make postgres` installs it): `initdb` of a new cluster in
a temporary folder and `pg_ctl start` on a free loopback port with its socket in that
folder, run as the `postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_program(name: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl): Debian keeps them in
    /usr/lib/postgresql/<version>/bin, off the PATH; the newest version wins."""
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda f: [int(n) for n in re.findall(r"\d+", f)],
        reverse=True,
    )
    for folder in folders:
        if os.access(Path(folder) / name, os.X_OK):
            return str(Path(folder) / name)
    found = shutil.which(name)
    assert found, f"PostgreSQL's {name} is missing: make postgres (or apt-get install postgresql)"
    return found


class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1, trust authentication (loopback only, a test
    cluster), user `postgres`. `with Postgres() as pg:` starts it, then stops it and deletes
    its folder. `Postgres(passwords=True)`: connections over TCP must give a password
    (scram-sha-256), as on a production server; `execute` still comes in through the socket
    as `postgres`, which the cluster trusts, to create roles and grant them."""

    user = "postgres"

    def __init__(self, passwords: bool = False) -> None:
        self.passwords = passwords
        self.port = free_port()
        # not pytest's tmp_path: the postgres user must reach the folder (pytest's is 0700 root)
        self.folder = Path(tempfile.mkdtemp(prefix="contentpulse-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self._as_postgres: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._as_postgres = {
                "user": account.pw_uid,
                "group": account.pw_gid,
                "extra_groups": [],
                "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder)},
            }

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run(
            list(argv),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            **self._as_postgres,
        )
        assert done.returncode == 0, (
            f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}\n{self.tail()}"
        )

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no PostgreSQL log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> Postgres:
        self._run(
            postgres_program("initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            # UTF8, as a production server is (with SQL_ASCII psycopg returns text as bytes)
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            *(["--auth-host=scram-sha-256"] if self.passwords else []),
        )
        options = [
            f"-p {self.port}",
            f"-k {self.folder}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            # a throwaway test cluster: no waiting for the disk
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
        ]
        self._run(
            postgres_program("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "120",
            "start",
        )
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(postgres_program("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Postgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses
    def url(self, database: str, scheme: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL (Airflow's sql_alchemy_conn; `db+postgresql+psycopg` for Celery's
        result backend)."""
        return f"{scheme}://{self.user}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str, user: str | None = None) -> str:
        """A libpq connection string (psycopg, DuckDB's postgres extension)."""
        return f"dbname={database} host=127.0.0.1 port={self.port} user={user or self.user}"

    # statements
    def execute(self, sql: str, *params: object, database: str = "postgres") -> list[tuple]:
        """One statement in autocommit (CREATE DATABASE cannot run in a transaction); its rows."""
        local = f"dbname={database} host={self.folder} port={self.port} user={self.user}"
        with psycopg.connect(local, autocommit=True) as con:
            cur = con.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str) -> str:
        self.execute(f'create database "{name}"')
        return name


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port; yields its endpoint URL. Callers set dummy
    AWS keys (moto accepts any)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_files(folder: Path) -> Iterator[str]:
    """`folder` served over HTTP on a free loopback port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
