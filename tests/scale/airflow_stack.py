"""A real Airflow deployment for tests: Redis, the API server, the scheduler, the DAG processor
and Celery workers, each its own process group in a temporary AIRFLOW_HOME, all on 127.0.0.1,
with a private PostgreSQL (`tests.servers.Postgres`) as the metadata database and the Celery
result backend, as in production.

`AirflowStack` starts what a test asks for and kills every process group it started when it
closes (also when the test fails). `prepare_home` prepares an AIRFLOW_HOME for LocalExecutor
`airflow dags test` runs (the reference the Celery runs are compared with; SQLite).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml

from contentpulse.demo import write_sandbox_config
from contentpulse.pools import WAREHOUSE_QUEUE_ENV
from sandbox import Sandbox
from tests.servers import Postgres, free_port

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
REPO = Path(__file__).resolve().parents[2]
DAG_ID = "contentpulse_nightly"
WAREHOUSE_QUEUE = "warehouse"


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path.name}: no output)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path.name} (last {len(text)} lines) ---\n" + "\n".join(text)


def base_env(home: Path, config: Path) -> dict[str, str]:
    """Airflow in `home` with the repo's airflow.cfg and DAGs, contentpulse reading `config`."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "CONTENTPULSE_CONFIG": str(config),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # a failed task shows at once instead of after retries minutes apart
        "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "0",
    }


def run(env: dict[str, str], *argv: str, timeout: float = 300) -> str:
    """An Airflow (or contentpulse) command; its output, or a failure with its tail."""
    command = list(argv) if os.path.isabs(argv[0]) else [AIRFLOW, *argv]
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{output[-3000:]}"
    return output


def prepare_home(
    home: Path,
    sandbox: Sandbox,
    env_extra: dict[str, str] | None = None,
    youtube_pool_slots: int | None = None,
):
    """A migrated AIRFLOW_HOME with the pools imported and a contentpulse config for `sandbox`
    (the YouTube pool sized `youtube_pool_slots` when given); returns (env, config path)."""
    config = write_sandbox_config(home / "contentpulse.yml", sandbox, home / "data")
    if youtube_pool_slots:
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        raw["sources"]["youtube"]["pool_slots"] = youtube_pool_slots
        config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {**base_env(home, config), **(env_extra or {})}
    run(env, "db", "migrate")
    pools = home / "pools.json"
    run(env, str(BIN / "contentpulse"), "pools", "--json", str(pools))
    run(env, "pools", "import", str(pools))
    return env, config


def dags_test(env: dict[str, str], logical_date: str) -> str:
    """`airflow dags test` of the nightly DAG (LocalExecutor, in-process); asserts success."""
    output = run(env, "dags", "test", DAG_ID, logical_date, timeout=600)
    assert "state=success" in output, output[-4000:]
    return output


class AirflowStack:
    """Redis + api-server + scheduler + dag-processor + Celery workers in `home`, on the
    database `airflow` of `postgres` (a started cluster; the stack creates the database)."""

    def __init__(
        self,
        home: Path,
        sandbox: Sandbox,
        postgres: Postgres,
        workers: tuple[str, ...] = ("w1", "w2"),
        youtube_pool_slots: int | None = None,
    ):
        self.home = home
        self.postgres = postgres
        self.database = postgres.create_database("airflow")
        self.workers = workers
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = home / "proc"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        redis = f"redis://127.0.0.1:{self.redis_port}"
        self.env, self.config = prepare_home(
            home,
            sandbox,
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url(self.database),
                "AIRFLOW__CELERY__BROKER_URL": f"{redis}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": postgres.url(
                    self.database, "db+postgresql+psycopg"
                ),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api,
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                # only backfills and triggered runs: no run of "yesterday" on unpausing
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                # a restarted scheduler takes over a dead one's tasks within seconds, not minutes
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # the warehouse steps go to a queue only the first worker consumes (the machine
                # that holds the DuckDB file, in production)
                WAREHOUSE_QUEUE_ENV: WAREHOUSE_QUEUE,
            },
            youtube_pool_slots,
        )

    # processes
    def start(self, name: str, *argv: str) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                list(argv),
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def start_redis(self) -> None:
        data = self.home / "redis"
        data.mkdir(exist_ok=True)
        redis = shutil.which("redis-server")
        assert redis, "redis-server is missing: make redis (or apt-get install redis-server)"
        self.start(
            "redis",
            redis,
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
        )
        self.wait_for(lambda: self._tcp_open(self.redis_port), 30, "redis to listen")

    def start_scheduler(self) -> None:
        self.start("scheduler", AIRFLOW, "scheduler", "--skip-serve-logs")

    def start_all(self) -> None:
        self.start_redis()
        self.start(
            "api-server",
            AIRFLOW,
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.api_port),
            "--workers",
            "1",
        )
        self.start("dag-processor", AIRFLOW, "dag-processor")
        self.start_scheduler()
        for name in self.workers:
            queues = f"default,{WAREHOUSE_QUEUE}" if name == self.workers[0] else "default"
            self.start(
                name,
                AIRFLOW,
                "celery",
                "worker",
                "--queues",
                queues,
                "--celery-hostname",
                f"{name}@contentpulse",
                "--concurrency",
                "2",
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            )
        self.wait_for(
            lambda: (
                self._tcp_open(self.api_port)
                and self.query("select 1 from dag where dag_id = %s and not is_paused", DAG_ID)
            ),
            180,
            "the DAG to be parsed and unpaused, and the API server to listen",
        )

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def __enter__(self) -> AirflowStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # waiting and reading state
    @staticmethod
    def _tcp_open(port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    def tails(self, lines: int = 25) -> str:
        parts = []
        for name, proc in self.procs.items():
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            parts.append(f"{name}: {state}")
        parts += [tail(p, lines) for p in sorted(self.logs.glob("*.log"))]
        return "\n".join(parts)

    def wait_for(self, ready: Callable[[], Any], timeout: float, what: str, every: float = 1.0):
        deadline = time.monotonic() + timeout
        while True:
            value = ready()
            if value:
                return value
            for name, proc in self.procs.items():
                assert proc.poll() is None, (
                    f"{name} exited while waiting for {what}\n{self.tails()}"
                )
            assert time.monotonic() < deadline, (
                f"gave up after {timeout:.0f} s waiting for {what}\n{self.tails()}"
            )
            time.sleep(every)

    def airflow(self, *argv: str, timeout: float = 300) -> str:
        return run(self.env, *argv, timeout=timeout)

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the metadata database directly (`%s` parameters, a read-only session): the
        scheduler's own state, without depending on the API server answering on a loaded
        machine."""
        with psycopg.connect(self.postgres.dsn(self.database), autocommit=True) as con:
            con.read_only = True
            return con.execute(sql, params or None).fetchall()

    def runs(self, backfill_id: int) -> list[tuple[str, str, str]]:
        """(run_id, logical date, state) of the backfill's runs."""
        return self.query(
            "select run_id, to_char(logical_date at time zone 'UTC', 'YYYY-MM-DD'), state "
            "from dag_run where dag_id = %s and backfill_id = %s order by logical_date",
            DAG_ID,
            backfill_id,
        )

    def running(self, task_id: str) -> bool:
        return bool(
            self.query(
                "select 1 from task_instance where dag_id = %s and task_id = %s "
                "and state = 'running'",
                DAG_ID,
                task_id,
            )
        )

    def backfill(
        self, from_date: str, to_date: str, reprocess: str = "none", max_active_runs: int = 1
    ) -> int:
        """`airflow backfill create`; the new backfill's id."""
        self.airflow(
            "backfill",
            "create",
            "--dag-id",
            DAG_ID,
            "--from-date",
            from_date,
            "--to-date",
            to_date,
            "--reprocess-behavior",
            reprocess,
            "--max-active-runs",
            str(max_active_runs),
        )
        return self.query("select max(id) from backfill where dag_id = %s", DAG_ID)[0][0]

    def wait_backfill(self, backfill_id: int, timeout: float) -> list[tuple[str, str, str]]:
        """Wait until the backfill completed; its runs, each of which must have succeeded."""

        def done():
            runs = self.runs(backfill_id)
            failed = [r[0] for r in runs if r[2] == "failed"]
            assert not failed, f"backfill {backfill_id}: runs failed: {failed}\n{self.tails()}"
            completed = self.query("select completed_at from backfill where id = %s", backfill_id)
            return runs if completed[0][0] else None

        runs = self.wait_for(done, timeout, f"backfill {backfill_id} to complete", every=2)
        assert runs and all(r[2] == "success" for r in runs), runs
        return runs

    def executed(self, task_id: str) -> dict[str, list[str]]:
        """For each worker, the (run, map index) of every `task_id` it executed, from its log."""
        pattern = re.compile(
            r"Executing workload in Celery: .*?log_path='dag_id=[^/]+/run_id=([^/]+)"
            rf"/task_id={re.escape(task_id)}/(?:map_index=(\d+)/)?attempt="
        )
        return {
            name: [
                f"{m[1]}[{m[2] or -1}]"
                for m in pattern.finditer((self.logs / f"{name}.log").read_text(errors="replace"))
            ]
            for name in self.workers
        }
