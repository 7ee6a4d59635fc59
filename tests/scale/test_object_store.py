"""The landing root on an S3-compatible object store (moto's server on 127.0.0.1, reached by
s3fs as a real store is): the same night (YouTube, GA4, Instagram and CSV exports) landed on
local disk and on s3://bucket/landing gives identical marts; the objects are in the bucket and
nothing lands on local disk; a re-run against the store rewrites nothing and loads nothing
twice; and a wrong URL, bucket, endpoint or key stops with one clear line, secret unshown."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
import yaml

from contentpulse import pipeline
from contentpulse.cli import main
from contentpulse.credentials import env_var
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from sandbox.csv_exports import ExportPortfolio
from sandbox.ga4_portfolio import Ga4Portfolio, PropertySpec
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from tests.marts import mart_checksums
from tests.servers import free_port, moto_s3

END = date(2026, 11, 20)
START = END - timedelta(days=29)
CLOCK = END + timedelta(days=1)  # social snapshots are read through END
BUCKET = "contentpulse-landing"
CONN_ID = "landing_store"
KEY_ID, SECRET = "AKIATESTLANDING0001", "landing-test-secret-Xq7"


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory) -> Iterator[None]:
    """Dummy keys and no AWS config files or instance metadata: only loopback is reachable."""
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        conn = {"conn_type": "aws", "login": KEY_ID, "password": SECRET}
        mp.setenv(env_var(CONN_ID), json.dumps(conn))
        yield


@pytest.fixture(scope="module")
def s3(aws_env) -> Iterator[str]:
    """moto's S3 on a free loopback port, with an empty bucket; yields the endpoint URL."""
    with moto_s3() as endpoint:
        client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


def client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def objects(endpoint: str, prefix: str = "landing/") -> dict[str, str]:
    """key -> ETag of every object under the prefix."""
    out = {}
    for page in (
        client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    ):
        out.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
    return out


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A YouTube channel, the GA4 property of its stories, an Instagram account."""
    youtube = Portfolio([ChannelSpec("Alpha News", 6, "America/New_York")], START, END)
    ga4 = Ga4Portfolio(
        [PropertySpec("Northwind web", 8, timezone="America/New_York", locales=("en",))],
        START,
        END,
        stories=youtube,
    )
    social = SocialPortfolio(
        [SocialAccountSpec("instagram", "alpha.news", 12, "America/New_York")],
        START,
        END,
        youtube=youtube,
    )
    with Sandbox(youtube, clock=CLOCK, ga4=ga4, social=social) as sb:
        yield sb


def night_config(folder: Path, sandbox: Sandbox, landing_store: dict | None = None) -> Path:
    """The sandbox's config with a CSV inbox; landing on an object store if given."""
    exports = ExportPortfolio.demo(END, posts=10)
    for account_id in exports.specs:
        for day in (END - timedelta(days=7), END):
            exports.write(folder / "data" / "inbox" / account_id, account_id, day)
    path = write_sandbox_config(
        folder / "contentpulse.yml", sandbox, folder / "data", exports=exports
    )
    if landing_store is not None:
        text = yaml.safe_load(path.read_text(encoding="utf-8"))
        text["paths"]["landing"] = f"s3://{BUCKET}/landing"
        text["paths"]["landing_store"] = landing_store
        path.write_text(yaml.safe_dump(text, allow_unicode=True), encoding="utf-8")
    return path


def land_and_build(cfg, start: date, run_id: str) -> tuple[float, list]:
    """Extract, load and build (check and publish read the warehouse, not the landing)."""
    started = time.perf_counter()
    windows = {p: Window(start, END) for p, _ in cfg.iter_sources()}
    steps = [pipeline.extract(cfg, windows, run_id), pipeline.load(cfg), pipeline.build(cfg)]
    assert not [e for s in steps for e in s.errors]
    return time.perf_counter() - started, steps


@pytest.fixture(scope="module")
def nights(tmp_path_factory, sandbox, s3) -> dict:
    """The same backfill landed on local disk, then on the bucket."""
    from contentpulse.config import load_config

    local_dir = tmp_path_factory.mktemp("local")
    store_dir = tmp_path_factory.mktemp("store")
    local = load_config(night_config(local_dir, sandbox))
    store = load_config(night_config(store_dir, sandbox, {"conn_id": CONN_ID, "endpoint_url": s3}))
    local_s, local_steps = land_and_build(local, START, "backfill")
    store_s, store_steps = land_and_build(store, START, "backfill")
    keys = objects(s3)
    print(
        f"\nbackfill {START}..{END}: local {local_s:.1f} s "
        f"(extract {local_steps[0].seconds:.1f} s, load {local_steps[1].seconds:.1f} s); "
        f"S3 {store_s:.1f} s (extract {store_steps[0].seconds:.1f} s, "
        f"load {store_steps[1].seconds:.1f} s); {len(keys)} objects written"
    )
    return {"local": local, "store": store, "store_dir": store_dir, "keys": keys, "s3": s3}


def test_a_night_landed_on_the_store_builds_the_same_marts_as_on_local_disk(nights):
    local = mart_checksums(nights["local"].paths.warehouse)
    store = mart_checksums(nights["store"].paths.warehouse)
    assert {"posts", "post_daily", "post_performance"} <= local.keys()
    assert all(int(local[t].split(":")[0]) > 0 for t in ("posts", "post_daily"))
    assert store == local
    platforms = {
        "youtube",
        "ga4",
        "instagram",
        "linkedin",
        "x",
    }
    with connect(nights["store"].paths.warehouse, read_only=True) as con:
        found = {p for (p,) in con.sql("select distinct platform from marts.posts").fetchall()}
    assert found == platforms


def test_the_landing_files_are_objects_in_the_bucket_and_none_is_on_local_disk(nights):
    keys = nights["keys"]
    with connect(nights["store"].paths.warehouse, read_only=True) as con:
        loaded = {p for (p,) in con.sql("select path from meta.loaded_files").fetchall()}
    assert loaded and {k.removeprefix("landing/") for k in keys} == loaded
    assert not [p for p in nights["store_dir"].rglob("*") if p.suffix in (".parquet", ".tmp")]
    assert not (nights["store_dir"] / "data" / "landing").exists()

    # the same files, folder by folder, as the local run landed
    def folders(rels) -> Counter:
        return Counter(rel.rsplit("/", 1)[0] for rel in rels)

    root = nights["local"].paths.landing
    local = [str(p.relative_to(root)) for p in root.rglob("*.parquet")]
    assert folders(loaded) == folders(local)


def test_a_rerun_on_the_store_rewrites_nothing_and_loads_nothing_twice(nights):
    cfg, s3 = nights["store"], nights["s3"]
    # a re-run reads the night's days once more: only how often they were read may change
    before = mart_checksums(cfg.paths.warehouse)
    _, steps = land_and_build(cfg, END - timedelta(days=2), "night")
    assert steps[1].rows > 0  # the night landed and loaded new files
    after = objects(s3)
    assert {k: after[k] for k in nights["keys"]} == nights["keys"]  # same ETags: untouched
    assert len(after) > len(nights["keys"])
    assert mart_checksums(cfg.paths.warehouse) == before
    again = pipeline.load(cfg)
    assert (again.rows, again.detail) == (0, "0 landing files")


def store_config(tmp_path: Path, landing: str, store: dict | None) -> Path:
    paths = {"landing": landing, "warehouse": str(tmp_path / "w.duckdb")}
    if store is not None:
        paths["landing_store"] = store
    path = tmp_path / "contentpulse.yml"
    path.write_text(yaml.safe_dump({"paths": paths}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("landing", "store", "expected"),
    [
        (
            "s3://no-such-bucket/landing",
            {"endpoint_url": "{s3}"},
            "error: landing store s3://no-such-bucket/landing: bucket 'no-such-bucket' "
            "not found at {s3} (create it, or fix paths.landing)",
        ),
        (
            f"s3://{BUCKET}/landing",
            {"endpoint_url": "http://127.0.0.1:{closed}"},
            "error: landing store s3://contentpulse-landing/landing: cannot open at "
            "http://127.0.0.1:{closed}: EndpointConnectionError: Could not connect",
        ),
        (
            f"s3://{BUCKET}/landing",
            {"endpoint_url": "{s3}", "conn_id": "wrong_keys"},
            "error: landing store s3://contentpulse-landing/landing: {s3} refused the "
            "credentials (check paths.landing_store.conn_id's connection",
        ),
        (
            "s3://Not_A_Bucket/landing",
            None,
            "paths.landing: 's3://Not_A_Bucket/landing' is not an object-store "
            "URL this build reads: give s3://bucket/prefix",
        ),
        (
            "s3:/half-a-url",
            None,
            "paths.landing: 's3:/half-a-url' is not an object-store URL",
        ),
        (
            "data/landing",
            {"endpoint_url": "{s3}"},
            "paths: landing_store is for an object-store landing",
        ),
        (
            f"s3://{BUCKET}/landing",
            {"endpoint_url": "{s3}", "conn_id": "keyless"},
            "error: connection 'keyless': an object store needs login (the access key id) "
            "and password (the secret access key)",
        ),
    ],
    ids=[
        "missing-bucket",
        "wrong-endpoint",
        "refused-keys",
        "bad-bucket",
        "bad-url",
        "no-url",
        "keyless",
    ],
)
def test_a_wrong_store_stops_with_one_clear_line_and_no_secret(
    tmp_path, s3, monkeypatch, capsys, landing, store, expected
):
    import moto.settings

    if store and store.get("conn_id") == "wrong_keys":
        # moto checks keys only when told to (from the first request on); these exist nowhere
        monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    wrong = {"conn_type": "aws", "login": "AKIAWRONGKEY0000", "password": "wrong-Secret-9zz"}
    monkeypatch.setenv(env_var("wrong_keys"), json.dumps(wrong))
    monkeypatch.setenv(env_var("keyless"), json.dumps({"conn_type": "aws"}))
    closed = str(free_port())
    fill = {"s3": s3, "closed": closed}
    if store is not None:
        store = {k: v.format(**fill) for k, v in store.items()}
    config = store_config(tmp_path, landing, store)
    assert main(["--config", str(config), "load"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert expected.format(**fill) in err
    for secret in ("wrong-Secret-9zz", "AKIAWRONGKEY0000", SECRET, KEY_ID):
        assert secret not in err
