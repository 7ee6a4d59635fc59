"""DuckLake: the warehouse, or the published snapshot, on PostgreSQL and an object store.

`paths.warehouse: ducklake:<name>` (or `paths.analytics`) names a DuckLake whose catalog is a
PostgreSQL database (DuckLake's tables in its schema `<name>`) and whose data files are
Parquet objects under `<paths.lake.data_path>/<name>/`. `attach` gives a DuckDB connection the
lake under an alias, so that the models' SQL (`raw.`, `staging.`, `marts.`) runs inside it
unchanged once the connection `USE`s it; `connect` is that for a connection of its own.

Secrets reach DuckDB only as temporary secrets of the connection, built from the connections
`paths.lake` names: never in an ATTACH string, which DuckDB quotes in its errors. A catalog
that cannot be reached, credentials refused by the catalog or the store, and a missing bucket
are each one line naming the lake and where, never a secret.

One writer at a time: `writer_lock` holds a PostgreSQL advisory lock in the catalog database,
so that steps on different machines queue for it, and the lock goes with its session when its
process dies.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from contentpulse.config import Lake
from contentpulse.credentials import get_connection
from contentpulse.errors import ContentpulseError, CredentialsError
from contentpulse.extensions import load_extension
from contentpulse.warehouse import LOCK_TIMEOUT_S, limit_memory, sql_string

log = logging.getLogger(__name__)
EXTENSIONS = ("ducklake", "httpfs", "postgres_scanner")
CONNECT_TIMEOUT_S = 10  # libpq's connect_timeout for the catalog


@dataclass(frozen=True)
class Catalog:
    """Where a lake's catalog is, from its connection (the password stays wrapped)."""

    conn_id: str
    host: str
    port: int
    database: str
    user: str
    options: str  # extra libpq options (sslmode), no secret

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def catalog(lake: Lake) -> tuple[Catalog, str]:
    """The catalog's address and its password, from connection `catalog_conn_id`."""
    conn = get_connection(lake.catalog_conn_id)
    if not (conn.host and conn.schema and conn.login):
        raise CredentialsError(
            f"connection {conn.conn_id!r}: a DuckLake catalog needs host, schema (the "
            "PostgreSQL database) and login (and password, unless the server trusts it)"
        )
    options = " ".join(
        f"{key}={conn.value(key)}" for key in ("sslmode",) if conn.value(key) is not None
    )
    found = Catalog(conn.conn_id, conn.host, conn.port or 5432, conn.schema, conn.login, options)
    return found, conn.password.reveal()


def store_keys(lake: Lake) -> tuple[str, str, str]:
    """(access key id, secret access key, session token) for the lake's bucket: from
    connection `store_conn_id`, else from the standard AWS chain (environment, ~/.aws, the
    machine's role), resolved now."""
    if lake.store_conn_id:
        conn = get_connection(lake.store_conn_id)
        key = conn.login or conn.value("aws_access_key_id") or ""
        secret = conn.password.reveal() or conn.value("aws_secret_access_key") or ""
        if not (key and secret):
            raise CredentialsError(
                f"connection {conn.conn_id!r}: an object store needs login (the access key id) "
                "and password (the secret access key)"
            )
        return key, secret, conn.value("aws_session_token") or ""
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise ContentpulseError(
            f"lake {lake}: no credentials for {lake.data_url} (set paths.lake.store_conn_id, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token or ""


def _endpoint(lake: Lake) -> str | None:
    if lake.endpoint_url:
        return lake.endpoint_url
    if lake.store_conn_id:
        return get_connection(lake.store_conn_id).value("endpoint_url")
    return None


def _region(lake: Lake) -> str:
    if lake.region:
        return lake.region
    if lake.store_conn_id:
        found = get_connection(lake.store_conn_id).value("region_name")
        if found:
            return found
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class _Attaching:
    """One lake being attached: its secrets made, and DuckDB's errors turned into one line
    with every secret value hidden."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.catalog, password = catalog(lake)
        key, secret, token = store_keys(lake)
        self.endpoint = _endpoint(lake)
        self._values = {
            "password": password,
            "key": key,
            "secret": secret,
            "token": token,
            "region": _region(lake),
        }
        self._hidden = tuple(v for v in (password, secret, token, key) if v)

    @property
    def password(self) -> str:
        return self._values["password"]

    @property
    def bucket(self) -> str:
        return self.lake.data_path.removeprefix("s3://").split("/", 1)[0]

    @property
    def store(self) -> str:
        return self.endpoint or "AWS S3"

    def secrets(self, con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        """The connection's temporary secrets for the catalog and the bucket; their names."""
        name = f"contentpulse_{self.lake.name}"
        v, c = self._values, self.catalog
        con.execute(
            f"create or replace temporary secret {name}_catalog (type postgres, "
            f"host {sql_string(c.host)}, port {int(c.port)}, database {sql_string(c.database)}, "
            f"user {sql_string(c.user)}, password {sql_string(v['password'])})"
        )
        store = [
            f"key_id {sql_string(v['key'])}",
            f"secret {sql_string(v['secret'])}",
            f"region {sql_string(v['region'])}",
            f"scope {sql_string(self.lake.data_url)}",
        ]
        if v["token"]:
            store.append(f"session_token {sql_string(v['token'])}")
        if self.endpoint:  # an S3-compatible store of its own (MinIO, R2, Ceph, moto)
            host = re.sub(r"^https?://", "", self.endpoint)
            use_ssl = "true" if self.endpoint.startswith("https://") else "false"
            store += [f"endpoint {sql_string(host)}", "url_style 'path'", f"use_ssl {use_ssl}"]
        con.execute(
            f"create or replace temporary secret {name}_store (type s3, {', '.join(store)})"
        )
        return f"{name}_catalog", f"{name}_store"

    def hide(self, text: str) -> str:
        for value in self._hidden:
            text = text.replace(value, "***")
        return text

    def failed(self, exc: BaseException) -> ContentpulseError:
        """DuckDB's error attaching or checking the lake, as one line naming the cause."""
        text = self.hide(str(exc))
        about = f"lake {self.lake}"
        if "Unable to connect to Postgres" in text:
            return self.catalog_failed(text)
        if "NoSuchBucket" in text or "HTTP 404" in text:
            return ContentpulseError(
                f"{about}: bucket {self.bucket!r} not found at {self.store} (create it, or fix "
                "paths.lake.data_path)"
            )
        if re.search(r"HTTP 403|Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch", text):
            return ContentpulseError(
                f"{about}: {self.store} refused the credentials for {self.lake.data_url} (check "
                "paths.lake.store_conn_id's connection, or the AWS credential chain)"
            )
        if "Could not connect" in text or "Unable to connect to URL" in text:
            return ContentpulseError(
                f"{about}: cannot reach the object store at {self.store} for {self.lake.data_url}"
            )
        first = next((line.strip() for line in text.splitlines() if line.strip()), repr(exc))
        return ContentpulseError(f"{about}: cannot attach: {first}")

    def catalog_failed(self, text: str) -> ContentpulseError:
        """libpq's failure to open the catalog (through DuckDB or psycopg) as one line."""
        reason, c = _libpq_reason(self.hide(text)), self.catalog
        about = f"lake {self.lake}: its catalog at {c.where}"
        if re.search(
            r"password|no pg_hba\.conf entry|role \".*\" does not exist|permission denied",
            reason,
            re.I,
        ):
            return ContentpulseError(
                f"{about} refused the credentials of connection {c.conn_id!r} (user "
                f"{c.user!r}): {reason}"
            )
        if re.search(r"database \".*\" does not exist", reason):
            return ContentpulseError(
                f"{about} has no database {c.database!r} (create it, or fix the schema of "
                f"connection {c.conn_id!r})"
            )
        return ContentpulseError(
            f"lake {self.lake}: cannot reach its catalog at {c.where} (PostgreSQL database "
            f"{c.database!r}, connection {c.conn_id!r}): {reason}"
        )


def _libpq_reason(text: str) -> str:
    """libpq's own reason, on one line, from DuckDB's or psycopg's message: what follows
    `... port 5432 failed: ` (`Connection refused`, `password authentication failed ...`)."""
    found = re.search(r'Unable to connect to Postgres at "[^"]*": (.*)', text, re.S)
    rest = found[1] if found else text
    if "failed: " in rest:
        rest = rest.rsplit("failed: ", 1)[1]
    first = next((line for line in rest.splitlines() if line.strip()), "no reason given")
    return " ".join(first.strip().removeprefix("FATAL:").split()).rstrip(".")


def attach(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    alias: str,
    *,
    read_only: bool = False,
    snapshot_version: int | None = None,
) -> None:
    """Attach `lake` to `con` as `alias`: its extensions loaded (offline from their wheels),
    its secrets made, the bucket checked when writing. A failure is one error line."""
    attaching = _Attaching(lake)
    for name in EXTENSIONS:
        load_extension(con, name)
    catalog_secret, _ = attaching.secrets(con)
    where = f"dbname={attaching.catalog.database} connect_timeout={CONNECT_TIMEOUT_S}"
    if attaching.catalog.options:
        where += f" {attaching.catalog.options}"
    options = [
        f"data_path {sql_string(lake.data_url)}",
        f"metadata_schema {sql_string(lake.name)}",
        f"metadata_parameters map {{'SECRET': {sql_string(catalog_secret)}}}",
    ]
    if read_only:
        options.append("read_only")
    if snapshot_version is not None:
        options.append(f"snapshot_version {int(snapshot_version)}")
    try:
        con.execute(
            f"attach {sql_string('ducklake:postgres:' + where)} as {alias} ({', '.join(options)})"
        )
        if not read_only:  # the bucket exists and takes the keys: fail now, not mid-build
            con.execute("select count(*) from glob(?)", [lake.data_url + "*"]).fetchall()
    except duckdb.Error as exc:
        with suppress(duckdb.Error):
            con.execute(f"detach database if exists {alias}")
        raise attaching.failed(exc) from None


def connect(lake: Lake, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection of its own that uses `lake` (attached under its name), as
    `contentpulse.warehouse.connect` opens a file."""
    # spills past the memory limit go to a folder of this process's own (an in-memory
    # database would use .tmp in the working directory)
    spill = os.path.join(tempfile.gettempdir(), f"contentpulse-duckdb-{os.getpid()}")
    con = duckdb.connect(config={"temp_directory": spill})
    limit_memory(con)
    try:
        con.execute("set timezone = 'UTC'")
        attach(con, lake, lake.name, read_only=read_only)
        con.execute(f"use {lake.name}")
    except BaseException:
        con.close()
        raise
    return con


def current_version(con: duckdb.DuckDBPyConnection, alias: str) -> int:
    """The newest snapshot of the lake attached as `alias`."""
    return con.execute(f"select max(snapshot_id) from {alias}.snapshots()").fetchall()[0][0]


def _lock_key(lake: Lake) -> int:
    """The advisory lock's key: a signed 64-bit number of the lake's name."""
    digest = hashlib.sha256(f"contentpulse warehouse {lake.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def writer_lock(lake: Lake, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the lake's writer lock (a PostgreSQL advisory lock in its catalog database),
    waiting for it if another process, on any machine, has it, and saying so once; a wait
    past `timeout_s` is one error line. The lock goes with the session, so with its process."""
    import psycopg

    timeout_s = LOCK_TIMEOUT_S if timeout_s is None else timeout_s
    attaching = _Attaching(lake)
    c = attaching.catalog
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    me = f"contentpulse {socket.gethostname()} pid {os.getpid()} since {since}"
    try:
        session = psycopg.connect(
            host=c.host,
            port=c.port,
            dbname=c.database,
            user=c.user,
            password=attaching.password or None,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=me[:63],
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise attaching.catalog_failed(str(exc)) from None
    key = _lock_key(lake)
    try:
        started = time.monotonic()
        said = False
        while not session.execute("select pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
            holder = _lock_holder(session, key)
            if not said:
                log.warning(
                    "lake %s: waiting for the warehouse writer lock (held by %s)", lake, holder
                )
                said = True
            if time.monotonic() - started > timeout_s:
                raise ContentpulseError(
                    f"lake {lake}: still locked by {holder} after {timeout_s:.0f} s; is a run "
                    "stuck? (the lock goes with its process)"
                )
            time.sleep(0.2)
        if said:
            log.warning(
                "lake %s: got the warehouse writer lock after %.1f s",
                lake,
                time.monotonic() - started,
            )
        yield
    finally:
        session.close()  # ends the session: releases the lock


def _lock_holder(session, key: int) -> str:
    """Who holds the advisory lock `key`: its session's application name."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF  # pg_locks shows a bigint key as two oids
    rows = session.execute(
        "select a.application_name from pg_locks as l join pg_stat_activity as a using (pid) "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
        "and l.classid::bigint = %s and l.objid::bigint = %s",
        [unsigned >> 32, unsigned & 0xFFFFFFFF],
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else "another process"
