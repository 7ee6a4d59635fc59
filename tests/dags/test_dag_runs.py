"""Real `airflow dags test` runs of both DAGs against the sandbox, asserting on what they leave."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from contentpulse.config import load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.warehouse import connect
from sandbox import CLIENT_SECRET, REFRESH_TOKEN, Sandbox
from tests.conftest import CLOCK, END, REPO, small_portfolio
from tests.marts import mart_checksums
from tests.processes import kill_when
from tests.receivers import SmtpReceiver, WebhookReceiver

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


def dags_test(env, dag_id: str, logical_date: str, *options: str) -> str:
    run = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, logical_date, *options],
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
    # each mapped extract is named by its account in the UI (map_index_template)
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as db:
        named = db.execute(
            "select rendered_map_index from task_instance where task_id = 'extract_youtube'"
        ).fetchall()
    assert sorted(n for (n,) in named) == sorted(
        f"youtube {a.display_name} ({a.id})" for a in cfg.sources.youtube.accounts
    )
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


def test_weekly_report_dag_builds_last_weeks_report_and_delivers_it(airflow_env, tmp_path):
    """The report task, then the deliver task: the site (a folder here) with latest.html, and
    the chat message with the headline and the week's link."""
    env, cfg, _ = airflow_env
    raw = yaml.safe_load(Path(env["CONTENTPULSE_CONFIG"]).read_text())
    site = tmp_path / "site"
    raw["delivery"] = {
        "site": str(site),
        "site_url": "https://reports.example.org/weekly",
        "webhook_conn_id": "report_chat",
    }
    config = tmp_path / "delivering.yml"
    config.write_text(yaml.safe_dump(raw))
    with WebhookReceiver() as hook:
        run_env = {
            **env,
            "CONTENTPULSE_CONFIG": str(config),
            # Airflow's URI form of a URL host: http://<scheme>://host:port/path
            "AIRFLOW_CONN_REPORT_CHAT": f"http://{hook.url('/hooks/report-token')}",
        }
        dags_test(run_env, "contentpulse_weekly_report", "2026-11-23T06:00:00+00:00")
    report = cfg.paths.reports / "weekly-2026-W47.html"
    assert report.exists() and report.stat().st_size > 1_000_000  # plotly.js inlined
    assert report.stat().st_size < 2_000_000  # its basic bundle, not the full 4.8 MB
    assert "weekly-2026-W47.html" in (cfg.paths.reports / "index.html").read_text()
    assert (site / "latest.html").read_bytes() == report.read_bytes()
    assert {"index.html", "weekly-2026-W47.html"} <= {p.name for p in site.iterdir()}
    assert any((site / "quality").rglob("*.html"))
    [(path, payload)] = hook.received
    headline = re.search(r'<p class="headline">(.*?)</p>', report.read_text(), re.S)
    assert path == "/hooks/report-token"
    assert payload["text"].endswith("https://reports.example.org/weekly/weekly-2026-W47.html")
    assert headline is None or html_lib.unescape(headline[1]) in payload["text"]


def test_a_manual_trigger_with_a_backfill_range_reads_that_range(airflow_env, tmp_path):
    """The nightly DAG's trigger form (Params): Backfill from/to read that range of every
    account, then load -> publish, as `contentpulse backfill` would."""
    env, _, sandbox = airflow_env
    raw = yaml.safe_load(Path(env["CONTENTPULSE_CONFIG"]).read_text())
    raw["paths"] = {k: str(tmp_path / "data" / Path(v).name) for k, v in raw["paths"].items()}
    config = tmp_path / "backfill.yml"
    config.write_text(yaml.safe_dump(raw))
    start, end = END - timedelta(days=20), END - timedelta(days=14)
    conf = json.dumps({"backfill_start": str(start), "backfill_end": str(end)})
    dags_test(
        {**env, "CONTENTPULSE_CONFIG": str(config)},
        "contentpulse_nightly",
        "2026-11-21T03:00:00+00:00",
        "--conf",
        conf,
    )
    filled = load_config(config)
    with connect(filled.paths.analytics, read_only=True) as con:
        first, last, rows = con.sql(
            "select min(date), max(date), count(*) from staging.stg_youtube__video_daily"
        ).fetchall()[0]
    assert (first, last) == (start, end)
    assert rows == len(sandbox.portfolio.content_daily_truth(CLOCK, start, end))


def test_a_failed_account_alerts_and_the_night_still_publishes(airflow_env, tmp_path):
    """The failure callback's one line reaches the webhook and, through the SMTP provider's
    SmtpNotifier, a mail server that takes a login; neither secret shows."""
    env = airflow_env[0]
    secret_path = "/services/T000/B000/webhook-secret-token"
    smtp_password = "smtp-secret-password-9Wc"
    with WebhookReceiver() as hook, SmtpReceiver(login=("alerts", smtp_password)) as smtp:
        raw = yaml.safe_load(Path(env["CONTENTPULSE_CONFIG"]).read_text())
        raw["paths"] = {k: str(tmp_path / "data" / Path(v).name) for k, v in raw["paths"].items()}
        accounts = raw["sources"]["youtube"]["accounts"]
        accounts.append({**accounts[0], "id": "UCnoSuchChannel000000000", "name": "Gone"})
        raw["alerts"] = {
            "webhook_conn_id": "alerts_hook",
            "email_to": ["oncall@example.org"],
            "email_from": "contentpulse@example.org",
            "smtp_conn_id": "alerts_mail",
        }
        config = tmp_path / "partial.yml"
        config.write_text(yaml.safe_dump(raw))
        run_env = {
            **env,
            "CONTENTPULSE_CONFIG": str(config),
            "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
            "AIRFLOW_CONN_ALERTS_HOOK": json.dumps(
                {"conn_type": "http", "extra": {"webhook_url": hook.url(secret_path)}}
            ),
            "AIRFLOW_CONN_ALERTS_MAIL": json.dumps(smtp.connection(smtp_password, "alerts")),
        }
        run = subprocess.run(
            [AIRFLOW, "dags", "test", "contentpulse_nightly", "2026-11-21T03:00:00+00:00"],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    output = run.stdout + run.stderr
    assert "state=failed" in output, output[-3000:]  # the run says a task failed ...
    partial = load_config(config)
    with connect(partial.paths.analytics, read_only=True) as con:  # ... and still published
        published = con.sql(
            "select count(distinct account_id) from marts.posts where platform = 'youtube'"
        ).fetchall()[0][0]
    assert published == 2
    [text] = [body["text"] for path, body in hook.received if path == secret_path]
    assert text.startswith(
        "contentpulse_nightly.extract_youtube [youtube UCnoSuchChannel000000000] failed"
    ), text
    assert "channel not found" in text and "\n" not in text
    assert "webhook-secret-token" not in output  # the webhook URL is a secret
    [mail] = [m for m in smtp.messages if text[:100] in m["Subject"]]
    assert smtp.logins == ["alerts"] and mail["To"] == "oncall@example.org"
    assert html_lib.escape(text) in mail.get_body(preferencelist=("html",)).get_content()
    assert smtp_password not in output


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
