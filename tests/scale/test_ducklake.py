"""The ground the lake warehouse stands on: DuckDB's ducklake, httpfs and postgres_scanner
extensions loaded offline from their wheels (`contentpulse.extensions`), and a DuckLake whose
catalog is in a private PostgreSQL and whose data files are on moto's S3, both on 127.0.0.1.

A writer creates and fills a table (Parquet objects land in the bucket, the catalog in
PostgreSQL); a second connection attached read-only reads the same rows and cannot write;
`at (version => n)` reads an older snapshot. Every connection points DuckDB's extension
repository at a closed loopback port and turns autoinstall off: nothing can be downloaded."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import duckdb
import pytest

from contentpulse.extensions import load_extension
from contentpulse.warehouse import sql_string
from tests.servers import Postgres, free_port, moto_s3

BUCKET = "lake"
KEY_ID, SECRET = "AKIATESTLAKE0001", "lake-test-secret-Jf4"
EXTENSIONS = ("ducklake", "httpfs", "postgres_scanner")


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with Postgres() as pg:
        pg.create_database("lake")
        yield pg


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            mp.setenv(name, value)
        with moto_s3() as endpoint:
            s3_client(endpoint).create_bucket(Bucket=BUCKET)
            yield endpoint


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def offline_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that cannot download an extension: autoinstall off, and its
    repository a loopback port where nothing listens."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute(f"set custom_extension_repository = 'http://127.0.0.1:{free_port()}'")
    return con


def attach_lake(postgres: Postgres, endpoint: str, read_only: bool = False):
    con = offline_duckdb()
    for name in EXTENSIONS:
        load_extension(con, name)
    con.execute(
        f"create secret lake_s3 (type s3, key_id {sql_string(KEY_ID)}, "
        f"secret {sql_string(SECRET)}, endpoint {sql_string(endpoint.removeprefix('http://'))}, "
        "url_style 'path', use_ssl false, region 'us-east-1')"
    )
    catalog = sql_string(f"ducklake:postgres:{postgres.dsn('lake')}")
    data = sql_string(f"s3://{BUCKET}/data/")
    con.execute(f"attach {catalog} as lake (data_path {data}{', read_only' if read_only else ''})")
    return con


def test_the_three_extensions_load_from_their_wheels_with_no_repository_reachable():
    con = offline_duckdb()
    for name in EXTENSIONS:
        load_extension(con, name)
    loaded = con.execute(
        "select extension_name, loaded, installed from duckdb_extensions() "
        "where extension_name in ('ducklake', 'httpfs', 'postgres_scanner') order by 1"
    ).fetchall()
    # loaded, and not installed: it came from the wheel's file, not DuckDB's repository
    assert loaded == [(name, True, False) for name in sorted(EXTENSIONS)]


def test_a_ducklake_on_postgresql_and_s3_is_read_back_read_only_and_time_travels(postgres, s3):
    first = [(i, f"title {i}", i * 10) for i in range(1000)]
    more = [(i, f"title {i}", i * 10) for i in range(1000, 1500)]
    writer = attach_lake(postgres, s3)
    writer.execute("create table lake.posts (item_id integer, title varchar, views bigint)")
    insert = "insert into lake.posts select i, 'title ' || i, i * 10 from range(?, ?) as r(i)"
    writer.execute(insert, [0, 1000])
    writer.execute(insert, [1000, 1500])
    versions = writer.execute(
        "select snapshot_id, changes from lake.snapshots() order by snapshot_id"
    ).fetchall()
    # created the schema, the table, then two inserts: one snapshot each
    assert [v for v, _ in versions] == [0, 1, 2, 3]
    assert "tables_created" in versions[1][1]

    # the data files are Parquet objects in the bucket; the catalog is PostgreSQL's
    keys = [
        o["Key"]
        for o in s3_client(s3).list_objects_v2(Bucket=BUCKET, Prefix="data/").get("Contents", [])
    ]
    assert keys and all(k.startswith("data/main/posts/") and k.endswith(".parquet") for k in keys)
    snapshots_in_catalog = postgres.execute(
        "select count(*) from ducklake_snapshot", database="lake"
    )[0][0]
    assert snapshots_in_catalog == len(versions)

    reader = attach_lake(postgres, s3, read_only=True)
    assert reader.execute("from lake.posts order by item_id").fetchall() == first + more
    assert reader.execute("from lake.posts at (version => 2) order by item_id").fetchall() == first
    assert reader.execute("select count(*) from lake.posts at (version => 1)").fetchall() == [(0,)]
    with pytest.raises(duckdb.Error, match="read-only"):
        reader.execute("insert into lake.posts values (0, 'no', 0)")

    # a new write is a new snapshot the reader sees on its next query; the old stays readable
    writer.execute("update lake.posts set views = views + 1 where item_id < 10")
    assert reader.execute("select sum(views) from lake.posts where item_id < 10").fetchall() == [
        (sum(i * 10 + 1 for i in range(10)),)
    ]
    assert reader.execute(
        "select sum(views) from lake.posts at (version => 3) where item_id < 10"
    ).fetchall() == [(sum(i * 10 for i in range(10)),)]
    reader.close()
    writer.close()
