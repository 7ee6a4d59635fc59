"""The warehouse and the published snapshot on DuckLakes (`paths.warehouse: ducklake:warehouse`,
`paths.analytics: ducklake:analytics`): their catalog in a private PostgreSQL that asks for
passwords, their data files on moto's S3, both on 127.0.0.1.

A backfill and two nights run into the lakes (extract, load, build, check, publish), and the
same backfill and nights into local files: every `marts` table of the lake warehouse and of
its published snapshot equals the local warehouse's. Meanwhile two analyst processes, which
have only a read-only PostgreSQL role, query the snapshot in a loop during each publish and
see one whole published build every time. A writer killed mid-publish leaves the last
snapshot as it was; the next publish works. An unreachable catalog, refused credentials and a
missing bucket stop a step with one error line that holds no secret. The docs' lines for
analysts (docs/scaling.md) attach read-only and time-travel to an earlier publish.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
import yaml

from contentpulse import pipeline
from contentpulse.cli import main
from contentpulse.config import Config, load_config
from contentpulse.credentials import env_var
from contentpulse.demo import write_sandbox_config
from contentpulse.extensions import wheel_binary
from contentpulse.streams import Window
from reports.weekly import last_complete_week
from sandbox import ChannelSpec, Portfolio, Sandbox
from tests.marts import mart_checksums
from tests.processes import no_errors, results, wait_for
from tests.servers import Postgres, free_port, moto_s3

END = date(2026, 11, 20)
START = END - timedelta(days=29)
NIGHTS = [END - timedelta(days=1), END]
BUCKET = "contentpulse-lake"
WRITER, WRITER_PASSWORD = "contentpulse", "lake-writer-pw-Tq93"
ANALYST, ANALYST_PASSWORD = "analyst", "lake-analyst-pw-Zk41"
KEY_ID, SECRET = "AKIATESTLAKE0002", "lake-store-secret-Hv8"
SECRETS = (WRITER_PASSWORD, ANALYST_PASSWORD, SECRET)
REPO = Path(__file__).resolve().parents[2]

# counts and sums across marts and the snapshot's views, all in one query
QUERY = """
    select
        (select count(*) from marts.posts) as posts,
        (select count(*) from marts.post_performance) as performance_rows,
        (select count(*) from posts) as posts_view,
        (select sum(views) from marts.post_daily) as daily_views,
        (select sum(views) from post_performance) as total_views,
        (select sum(views) from marts.account_daily) as account_views,
        (select max(date)::varchar from marts.post_daily) as last_day,
        (select build_id from meta.build) as build_id
"""

# an analyst's process: attaches the snapshot read-only as docs/scaling.md says, with the
# read-only role (its password in PGPASSWORD), and queries it in a loop; `hold` keeps one
# connection, `reconnect` opens one per query
READER = textwrap.dedent("""
    import json, os, sys, time, duckdb
    attach, secret, extensions, out, stop, mode, QUERY = sys.argv[1:8]

    def connect():
        con = duckdb.connect()
        for binary in json.loads(extensions):
            con.execute(f"load '{binary}'")
        con.execute(secret)
        con.execute(attach)
        return con

    names, con = None, connect() if mode == "hold" else None
    with open(out, "w") as fh:
        while not os.path.exists(stop):
            if not os.path.exists(stop + ".go"):  # queries only around the publishes
                time.sleep(0.05)
                continue
            try:
                c = con if con is not None else connect()
                cur = c.execute(QUERY)
                names = names or [d[0] for d in cur.description]
                row = dict(zip(names, cur.fetchone()))
                if con is None:
                    c.close()
                fh.write(json.dumps(row) + "\\n")
            except Exception as exc:  # recorded, and the loop goes on
                fh.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\\n")
            fh.flush()
            time.sleep(0.2)  # a busy analyst; each query of `reconnect` attaches anew
""")


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[None]:
    """No AWS config or instance metadata (only loopback is reachable); the keys of the
    bucket come from the lake's store connection."""
    home = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
        mp.setenv(env_var("lake_store"), json.dumps({"login": KEY_ID, "password": SECRET}))
        yield mp


@pytest.fixture(scope="module")
def postgres(env) -> Iterator[Postgres]:
    """The catalog's server, asking for passwords: the pipeline's role owns the database
    `lake`; the analysts' role may only read (granted once the snapshot's catalog exists)."""
    with Postgres(passwords=True) as pg:
        pg.execute(f"create role {WRITER} login password '{WRITER_PASSWORD}'")
        pg.execute(f"create role {ANALYST} login password '{ANALYST_PASSWORD}'")
        pg.execute(f"create database lake owner {WRITER}")
        pg.execute(f"create database fresh owner {WRITER}")  # a catalog no lake has used yet
        env.setenv(
            env_var("lake_catalog"),
            f"postgres://{WRITER}:{WRITER_PASSWORD}@127.0.0.1:{pg.port}/lake",
        )
        yield pg


@pytest.fixture(scope="module")
def s3(env) -> Iterator[str]:
    with moto_s3() as endpoint:
        client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def objects(endpoint: str, prefix: str) -> set[str]:
    pages = client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    portfolio = Portfolio([ChannelSpec("Alpha News", 8, "America/New_York")], START, END)
    with Sandbox(portfolio, clock=NIGHTS[0] + timedelta(days=1)) as sb:
        yield sb


def lake_config(folder: Path, sandbox: Sandbox, endpoint: str, **lake: str) -> Path:
    """The sandbox's config with its warehouse and snapshot on DuckLakes."""
    path = write_sandbox_config(folder / "contentpulse.yml", sandbox, folder / "data")
    text = yaml.safe_load(path.read_text(encoding="utf-8"))
    text["paths"].update(
        warehouse="ducklake:warehouse",
        analytics="ducklake:analytics",
        lake={
            "catalog_conn_id": "lake_catalog",
            "data_path": f"s3://{BUCKET}/lake",
            "store_conn_id": "lake_store",
            "endpoint_url": endpoint,
            **lake,
        },
    )
    path.write_text(yaml.safe_dump(text, allow_unicode=True), encoding="utf-8")
    return path


def analyst_attach(postgres: Postgres, options: str = "") -> str:
    """docs/scaling.md's ATTACH for analysts, pointed at the test's server."""
    return (
        f"attach 'ducklake:postgres:dbname=lake host=127.0.0.1 port={postgres.port} "
        f"user={ANALYST}' as analytics (metadata_schema 'analytics', read_only{options}); "
        "use analytics"
    )


def store_secret(endpoint: str) -> str:
    """The bucket's keys for an analyst's DuckDB (moto takes any key)."""
    return (
        f"create or replace secret lake_read (type s3, key_id '{KEY_ID}', secret '{SECRET}', "
        f"region 'us-east-1', endpoint '{endpoint.removeprefix('http://')}', "
        "url_style 'path', use_ssl false)"
    )


def extension_binaries() -> list[str]:
    return [str(wheel_binary(n)) for n in ("ducklake", "postgres_scanner", "httpfs")]


def analyst(postgres: Postgres, endpoint: str, options: str = "") -> duckdb.DuckDBPyConnection:
    """An analyst's connection to the snapshot: the read-only role, its password as libpq
    reads it from the environment."""
    con = duckdb.connect()
    for binary in extension_binaries():
        con.execute(f"load '{binary}'")
    con.execute(store_secret(endpoint))
    os.environ["PGPASSWORD"] = ANALYST_PASSWORD
    try:
        con.execute(analyst_attach(postgres, options))
    finally:
        del os.environ["PGPASSWORD"]
    return con


def answer(con: duckdb.DuckDBPyConnection) -> dict:
    cur = con.execute(QUERY)
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def start_reader(tmp_path: Path, postgres: Postgres, endpoint: str, mode: str):
    out = tmp_path / f"reader-{mode}.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER,
            analyst_attach(postgres),
            store_secret(endpoint),
            json.dumps(extension_binaries()),
            str(out),
            str(tmp_path / "stop"),
            mode,
            QUERY,
        ],
        env={**os.environ, "PGPASSWORD": ANALYST_PASSWORD},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def local_nights(cfg: Config, sandbox: Sandbox) -> dict[str, float]:
    """The backfill and the nights into local files: extract, load and build (a passed check
    and its publish copy the warehouse's marts unchanged, the lake run checks that)."""
    seconds = {}
    for run_date, windows in [
        (
            NIGHTS[0] - timedelta(days=1),
            {p: Window(START, NIGHTS[0] - timedelta(days=1)) for p, _ in cfg.iter_sources()},
        ),
        *(
            (n, {p: pipeline.night_window(cfg, p, n) for p, _ in cfg.iter_sources()})
            for n in NIGHTS
        ),
    ]:
        sandbox.clock = run_date + timedelta(days=2)
        steps = [
            pipeline.extract(cfg, windows, f"local-{run_date}"),
            pipeline.load(cfg),
            pipeline.build(cfg),
        ]
        no_errors(steps)
        seconds[str(run_date)] = sum(s.seconds for s in steps)
    return seconds


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sandbox, postgres, s3) -> dict:
    """The backfill and two nights into the lakes, two analysts reading during every
    publish but the backfill's; the same into local files."""
    folder = tmp_path_factory.mktemp("lake")
    config = lake_config(folder, sandbox, s3)
    cfg = load_config(config)
    sandbox.clock = NIGHTS[0] + timedelta(days=1)
    steps = pipeline.backfill(cfg, START, NIGHTS[0] - timedelta(days=1), with_report=False)
    no_errors(steps)
    # the analysts' role reads the snapshot's catalog, and nothing else
    for sql in (
        f"grant usage on schema analytics to {ANALYST}",
        f"grant select on all tables in schema analytics to {ANALYST}",
        f"alter default privileges for role {WRITER} in schema analytics "
        f"grant select on tables to {ANALYST}",
    ):
        postgres.execute(sql, database="lake")
    with analyst(postgres, s3) as con:
        published = [answer(con)]
    first_night_at = datetime.now(UTC)
    readers = {m: start_reader(folder, postgres, s3, m) for m in ("hold", "reconnect")}
    go = folder / "stop.go"  # the readers query while it exists
    nights = []
    try:
        for night in NIGHTS:  # pipeline.run_night's steps, the readers querying during publish
            sandbox.clock = night + timedelta(days=2)
            windows = {p: pipeline.night_window(cfg, p, night) for p, _ in cfg.iter_sources()}
            steps = [
                pipeline.extract(cfg, windows, f"night-{night}"),
                pipeline.load(cfg),
                pipeline.build(cfg),
                pipeline.check(cfg, night),
            ]
            go.touch()
            for _, out in readers.values():
                seen = len(results(out))
                wait_for(lambda out=out, seen=seen: len(results(out)) > seen, "a reader's query")
            steps.append(pipeline.publish(cfg))
            no_errors(steps)
            nights.append(steps)
            with analyst(postgres, s3) as con:
                published.append(answer(con))
            for _, out in readers.values():  # each reader sees the new publish, then rests
                wait_for(
                    lambda out=out, day=str(night): results(out)[-1].get("last_day") == day,
                    "a reader's query after the publish",
                )
            go.unlink()
    finally:
        (folder / "stop").touch()
        for proc, _ in readers.values():
            try:
                proc.wait(timeout=60)
            finally:
                proc.kill()
    local = load_config(write_sandbox_config(folder / "local.yml", sandbox, folder / "local"))
    local_seconds = local_nights(local, sandbox)
    return {
        "cfg": cfg,
        "config": config,
        "first_night_at": first_night_at,
        "backfill": steps,
        "nights": nights,
        "published": published,
        "readers": readers,
        "local": local,
        "local_seconds": local_seconds,
    }


def test_a_backfill_and_two_nights_into_the_lake_give_the_marts_of_local_files(runs, s3):
    cfg, local = runs["cfg"], runs["local"]
    expected = mart_checksums(local.paths.warehouse)
    assert mart_checksums(cfg.paths.warehouse) == expected
    assert mart_checksums(cfg.paths.analytics) == expected
    assert [p["last_day"] for p in runs["published"]] == [
        str(NIGHTS[0] - timedelta(days=1)),
        *map(str, NIGHTS),
    ]
    # the data files are Parquet objects in the bucket, under each lake's own prefix
    for name in ("warehouse", "analytics"):
        keys = objects(s3, f"lake/{name}/")
        assert keys and all(k.endswith(".parquet") for k in keys), name
    night = runs["nights"][-1]
    lake_s = {s.step: round(s.seconds, 1) for s in night}
    print(
        f"\none night into the lake: {night[3].rows:,} rows checked, "
        f"{sum(s.seconds for s in night):.1f} s {lake_s}; local files, extract+load+build: "
        f"{runs['local_seconds'][str(NIGHTS[-1])]:.1f} s"
    )


def test_analysts_with_a_read_only_role_see_one_whole_publish_in_every_query(runs):
    published = {p["build_id"]: p for p in runs["published"]}
    assert len(published) == len(NIGHTS) + 1, "each night published a new build"
    for mode, (proc, out) in runs["readers"].items():
        assert proc.returncode == 0, f"{mode}: {proc.stderr.read()}"
        rows = results(out)
        errors = [r["error"] for r in rows if "error" in r]
        assert not errors, f"{mode} reader saw errors: {errors[:3]}"
        for r in rows:
            assert r == published[r["build_id"]], r
            assert r["posts"] == r["performance_rows"] == r["posts_view"], r
            assert r["daily_views"] == r["total_views"] == r["account_views"], r
        days = [r["last_day"] for r in rows]
        assert days == sorted(days), f"{mode}: a reader never goes back to an older snapshot"
        # a DuckLake reader sees the newest snapshot at each query, held connection or not
        assert set(days) == {p["last_day"] for p in runs["published"]}, mode


def test_the_analysts_role_cannot_write_the_snapshot_nor_read_the_warehouse(
    runs, postgres, s3, monkeypatch
):
    with analyst(postgres, s3) as con:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("delete from marts.posts")
        monkeypatch.setenv("PGPASSWORD", ANALYST_PASSWORD)
        with pytest.raises(duckdb.Error, match="permission denied"):
            con.execute(
                f"attach 'ducklake:postgres:dbname=lake host=127.0.0.1 port={postgres.port} "
                f"user={ANALYST}' as warehouse (metadata_schema 'warehouse', read_only)"
            )


def test_a_writer_killed_mid_publish_leaves_the_last_snapshot_and_the_next_publish_works(
    runs, postgres, s3
):
    cfg = runs["cfg"]
    before = mart_checksums(cfg.paths.analytics)
    with analyst(postgres, s3) as con:
        last = answer(con)
        version = con.execute("select max(snapshot_id) from analytics.snapshots()").fetchall()
    files = objects(s3, "lake/analytics/")
    publisher = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "contentpulse"),
            "--config",
            str(runs["config"]),
            "publish",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # its new tables' data files are being written: the transaction is open, uncommitted
        wait_for(
            lambda: (
                len(objects(s3, "lake/analytics/") - files) >= 5 or publisher.poll() is not None
            ),
            "the publish writing its data files",
        )
    finally:
        publisher.send_signal(signal.SIGKILL)
        publisher.wait(timeout=60)
    assert publisher.returncode == -signal.SIGKILL, publisher.stderr.read()[-2000:]
    with analyst(postgres, s3) as con:
        assert answer(con) == last
        assert (
            con.execute("select max(snapshot_id) from analytics.snapshots()").fetchall() == version
        )
    assert mart_checksums(cfg.paths.analytics) == before
    # the killed writer's lock went with its session: the next publish takes it and commits
    step = pipeline.publish(cfg)
    assert step.outputs["path"] == "ducklake:analytics"
    with analyst(postgres, s3) as con:
        assert answer(con) == last  # the same build, published again
        assert (
            con.execute("select max(snapshot_id) from analytics.snapshots()").fetchall() > version
        )
    assert mart_checksums(cfg.paths.analytics) == before


@pytest.mark.parametrize(
    "catalog, lake, expected",
    [
        (
            "postgres://{writer}:{password}@127.0.0.1:{closed}/lake",
            {},
            "error: lake ducklake:warehouse: cannot reach its catalog at 127.0.0.1:{closed} "
            "(PostgreSQL database 'lake', connection 'lake_catalog'): ",
        ),
        (
            "postgres://{writer}:not-the-{password}@127.0.0.1:{port}/lake",
            {},
            "error: lake ducklake:warehouse: its catalog at 127.0.0.1:{port} refused the "
            "credentials of connection 'lake_catalog' (user '{writer}'): password "
            'authentication failed for user "{writer}"',
        ),
        (
            "postgres://{writer}:{password}@127.0.0.1:{port}/fresh",
            {"data_path": "s3://no-such-bucket/lake"},
            "error: lake ducklake:warehouse: bucket 'no-such-bucket' not found at {endpoint} "
            "(create it, or fix paths.lake.data_path)",
        ),
    ],
    ids=["unreachable catalog", "refused credentials", "missing bucket"],
)
def test_a_lake_that_cannot_be_opened_stops_with_one_line_and_no_secret(
    tmp_path, sandbox, postgres, s3, monkeypatch, capsys, catalog, lake, expected
):
    values = {
        "writer": WRITER,
        "password": WRITER_PASSWORD,
        "port": postgres.port,
        "closed": free_port(),
        "endpoint": s3,
    }
    monkeypatch.setenv(env_var("lake_catalog"), catalog.format(**values))
    config = lake_config(tmp_path, sandbox, s3, **lake)
    assert main(["--config", str(config), "load"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(expected.format(**values)), lines[0]
    assert "Traceback" not in err
    for secret in (*SECRETS, "not-the-" + WRITER_PASSWORD):
        assert secret not in err


def doc_lines(postgres: Postgres, endpoint: str) -> list[str]:
    """docs/scaling.md's code for analysts, in order (the once-per-machine setup, the CLI, the
    Python and the notebook lines, the time travel), pointed at the test's servers."""
    text = (REPO / "docs" / "scaling.md").read_text(encoding="utf-8")
    section = text[text.index("### Analysts: attach from another machine") :]
    blocks = [b for _, b in re.findall(r"```(sql|sh|python)\n(.*?)\n```", section, re.S)]
    assert len(blocks) == 5, blocks
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"```sh\n{blocks[1]}\n```" in readme, "README's attach line is not docs/scaling.md's"
    swaps = {
        "host=pg.internal": f"host=127.0.0.1 port={postgres.port}",
        "'<read key id>'": f"'{KEY_ID}'",
        "'<read secret>'": f"'{SECRET}'",
        "minio.internal:9000": endpoint.removeprefix("http://"),
        "URL_STYLE 'path'": "URL_STYLE 'path', USE_SSL false",  # moto speaks plain HTTP
    }
    for old, new in swaps.items():
        blocks = [b.replace(old, new) for b in blocks]
    return blocks


def test_the_docs_lines_attach_read_only_and_travel_to_an_earlier_publish(
    runs, postgres, s3, tmp_path
):
    setup, cli, python, notebook, travel = doc_lines(postgres, s3)
    # a machine where `INSTALL` downloaded the extensions (here: their wheels' binaries)
    probe = duckdb.connect()
    platform = probe.execute("select platform from pragma_platform()").fetchone()[0]
    installed = tmp_path / ".duckdb" / "extensions" / f"v{duckdb.__version__}" / platform
    installed.mkdir(parents=True)
    for binary in extension_binaries():
        (installed / Path(binary).name).write_bytes(Path(binary).read_bytes())
    env = {**os.environ, "HOME": str(tmp_path), "PGPASSWORD": ANALYST_PASSWORD}
    duckdb_cli = str(Path(sys.executable).parent / "duckdb")

    def run(argv: list[str], stdin: str = "") -> str:
        done = subprocess.run(
            argv, input=stdin, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run([duckdb_cli, "-c", setup])
    last = runs["published"][-1]
    posts = "select 'posts=' || count(*) from marts.posts;"
    assert f"posts={last['posts']}" in run(
        ["bash", "-c", cli.replace("duckdb ", f"{duckdb_cli} ", 1)], posts
    )
    count = "print('posts=' + str({}.execute('select count(*) from marts.posts').fetchone()[0]))"
    for line, con in ((python, "con"), (notebook, "duckdb")):
        out = run([sys.executable, "-c", f"import duckdb\n{line}\n{count.format(con)}"])
        assert f"posts={last['posts']}" in out, line
    # "last week": here, the publish before the first night
    find, attach = travel.split("\n")
    find = find.replace("now() - INTERVAL 7 DAY", f"TIMESTAMPTZ '{runs['first_night_at']}'")
    script = "\n".join(
        [
            "import duckdb, json",
            python,  # the docs' Python lines: `con`
            f"version, _, message = con.execute({find!r}).fetchone()",
            f"con.execute({attach!r}.replace('SNAPSHOT_VERSION 42', f'SNAPSHOT_VERSION {{version}}'))",
            "con.execute('use last_week')",
            f"cur = con.execute({QUERY!r})",
            "print(json.dumps([message, dict(zip([d[0] for d in cur.description], cur.fetchone()))]))",
        ]
    )
    message, then = json.loads(run([sys.executable, "-c", script]).splitlines()[-1])
    first = runs["published"][0]
    assert message == f"publish {first['build_id']}"
    assert then == first and then != last


def test_the_weekly_report_and_status_read_the_lake_snapshot(runs):
    cfg = runs["cfg"]
    step = pipeline.report(cfg)
    assert step.outputs["week"] == last_complete_week(END)
    assert "Alpha News" in Path(step.outputs["path"]).read_text(encoding="utf-8")
    assert step.rows > 0
    [account] = pipeline.status(cfg, today=END + timedelta(days=1))
    assert (account.name, account.newest_complete_day) == ("Alpha News", END)
