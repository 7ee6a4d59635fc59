"""Real `airflow dags test` runs of both DAGs against the sandbox, asserting on what they leave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from connectors.sandbox import CLIENT_SECRET, REFRESH_TOKEN, Sandbox
from contentpulse.config import load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.warehouse import connect
from tests.conftest import CLOCK, END, REPO, small_portfolio
from tests.marts import mart_checksums
from tests.processes import kill_when

AIRFLOW = str(Path(sys.executable).parent / "airflow")
# the night the kill test starts with `airflow dags test`
NIGHT = [AIRFLOW, "dags", "test", "contentpulse_nightly", "2026-11-21T03:00:00+00:00"]
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    with Sandbox(small_portfolio(), clock=CLOCK) as sandbox:
        config = write_sandbox_config(home / "contentpulse.yml", sandbox, home / "data")
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "CONTENTPULSE_CONFIG": str(config),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        migrate = subprocess.run(
            [AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
        )
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        # the pools the DAGs use, sized from the config, as `make airflow` imports them
        pools = home / "pools.json"
        for command in (
            [str(Path(sys.executable).parent / "contentpulse"), "pools", "--json", str(pools)],
            [AIRFLOW, "pools", "import", str(pools)],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-2000:]
        yield env, load_config(config), sandbox


def dags_test(env, dag_id: str, logical_date: str) -> str:
    run = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, logical_date],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "state=success" in output, output[-4000:]
    return output


def test_nightly_dag_run_fills_the_warehouse_for_its_interval(airflow_env):
    env, cfg, sandbox = airflow_env
    # the interval 2026-11-20 03:00 -> 2026-11-21 03:00: reporting date END, lookback 3 days
    output = dags_test(env, "contentpulse_nightly", "2026-11-21T03:00:00+00:00")
    with connect(cfg.paths.warehouse, read_only=True) as con:
        dates = con.sql(
            "select min(date), max(date), count(distinct account_id) "
            "from staging.stg_youtube__video_daily"
        ).fetchall()[0]
        check = con.sql(
            "select success from meta.check_runs order by checked_at desc limit 1"
        ).fetchall()
        rows = con.sql("select count(*) from staging.stg_youtube__video_daily").fetchall()[0][0]
    assert dates == (date(2026, 11, 18), END, 2)
    truth = sandbox.portfolio.content_daily_truth(CLOCK, date(2026, 11, 18), END)
    assert rows == len(truth)
    assert check == [(True,)]
    with connect(cfg.paths.analytics, read_only=True) as con:
        assert con.sql("select count(*) from marts.post_daily").fetchall()[0][0] == rows
    for secret in (CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in output
        for log in Path(env["AIRFLOW_HOME"]).rglob("*.log"):
            assert secret not in log.read_text(errors="replace"), log


def test_the_pools_are_sized_from_the_config(airflow_env):
    env, cfg, _ = airflow_env
    listed = subprocess.run(
        [AIRFLOW, "pools", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    pools = {p["pool"]: int(p["slots"]) for p in json.loads(listed.stdout)}
    # youtube: 8 concurrent requests / concurrency 4; the warehouse: one writer
    assert pools["contentpulse_youtube"] == 8 // cfg.sources.youtube.concurrency == 2
    assert pools["contentpulse_warehouse"] == 1


def test_rerunning_the_night_in_airflow_changes_no_mart(airflow_env):
    env, cfg, _ = airflow_env

    def fingerprint():
        with connect(cfg.paths.analytics, read_only=True) as con:
            return {
                t: con.sql(f"select count(*), sum(hash(x)) from marts.{t} as x").fetchall()
                for t in ("posts", "post_daily", "post_performance")
            }

    before = fingerprint()
    dags_test(env, "contentpulse_nightly", "2026-11-21T03:00:00+00:00")
    assert fingerprint() == before


def test_weekly_report_dag_builds_last_weeks_report(airflow_env):
    env, cfg, _ = airflow_env
    dags_test(env, "contentpulse_weekly_report", "2026-11-23T06:00:00+00:00")
    report = cfg.paths.reports / "weekly-2026-W47.html"
    assert report.exists() and report.stat().st_size > 1_000_000  # plotly.js inlined
    assert "weekly-2026-W47.html" in (cfg.paths.reports / "index.html").read_text()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Hook.received.append({"path": self.path, "json": json.loads(body)})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_a_failed_account_alerts_and_the_night_still_publishes(airflow_env, tmp_path):
    env = airflow_env[0]
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    secret_path = "/services/T000/B000/webhook-secret-token"
    try:
        raw = yaml.safe_load(Path(env["CONTENTPULSE_CONFIG"]).read_text())
        raw["paths"] = {k: str(tmp_path / "data" / Path(v).name) for k, v in raw["paths"].items()}
        accounts = raw["sources"]["youtube"]["accounts"]
        accounts.append({**accounts[0], "id": "UCnoSuchChannel000000000", "name": "Gone"})
        raw["alerts"] = {"webhook_conn_id": "alerts_hook"}
        config = tmp_path / "partial.yml"
        config.write_text(yaml.safe_dump(raw))
        run_env = {
            **env,
            "CONTENTPULSE_CONFIG": str(config),
            "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
            "AIRFLOW_CONN_ALERTS_HOOK": json.dumps(
                {
                    "conn_type": "http",
                    "extra": {"webhook_url": f"http://127.0.0.1:{hook.server_port}{secret_path}"},
                }
            ),
        }
        run = subprocess.run(
            [AIRFLOW, "dags", "test", "contentpulse_nightly", "2026-11-21T03:00:00+00:00"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        hook.shutdown()
    output = run.stdout + run.stderr
    assert "state=failed" in output, output[-3000:]  # the run says a task failed ...
    partial = load_config(config)
    with connect(partial.paths.analytics, read_only=True) as con:  # ... and still published
        published = con.sql(
            "select count(distinct account_id) from marts.posts where platform = 'youtube'"
        ).fetchall()[0][0]
    assert published == 2
    [alert] = [r for r in _Hook.received if r["path"] == secret_path]
    text = alert["json"]["text"]
    assert text.startswith(
        "contentpulse_nightly.extract_youtube [youtube UCnoSuchChannel000000000] failed"
    ), text
    assert "channel not found" in text and "\n" not in text
    assert "webhook-secret-token" not in output  # the webhook URL is a secret


def test_a_worker_killed_mid_extract_or_mid_load_loses_and_duplicates_nothing(
    airflow_env, tmp_path
):
    env, clean, _ = airflow_env
    raw = yaml.safe_load(Path(env["CONTENTPULSE_CONFIG"]).read_text())
    raw["paths"] = {k: str(tmp_path / "data" / Path(v).name) for k, v in raw["paths"].items()}
    config = tmp_path / "killed.yml"
    config.write_text(yaml.safe_dump(raw))
    killed = load_config(config)
    run_env = {
        **env,
        "CONTENTPULSE_CONFIG": str(config),
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
    }
    landing = killed.paths.landing
    # 1. killed while the extract tasks write landing files
    kill_when(
        NIGHT,
        env=run_env,
        timeout_s=300,
        ready=lambda: landing.exists() and any(landing.rglob("*.parquet")),
    )
    assert not killed.paths.analytics.exists()
    # 2. killed while load holds the warehouse (its writer lock names the holder)
    lock = killed.paths.warehouse.with_name(killed.paths.warehouse.name + ".lock")
    lock.unlink(missing_ok=True)
    kill_when(
        NIGHT,
        env=run_env,
        timeout_s=300,
        ready=lambda: lock.exists() and lock.read_text().startswith("pid"),
    )
    # the next run completes, and the night equals the clean run's
    output = dags_test(run_env, "contentpulse_nightly", "2026-11-21T03:00:00+00:00")
    assert "state=success" in output
    assert mart_checksums(killed.paths.analytics) == mart_checksums(clean.paths.analytics)
    with connect(killed.paths.warehouse, read_only=True) as con:
        dupes = con.sql(
            "select count(*) - count(distinct (account_id, item_id, date)) "
            "from staging.stg_youtube__video_daily"
        ).fetchall()[0][0]
    assert dupes == 0
