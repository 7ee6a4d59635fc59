"""The production Airflow settings docs/scaling.md documents (Celery workers): its `ini`
block merged into the committed airflow.cfg, the two secret files it names written with a
private PostgreSQL's URLs. Airflow must read every value (with its own config loader) and
reach the metadata database with them (`airflow db check`)."""

from __future__ import annotations

import configparser
import json
import re
import sys
from pathlib import Path

import pytest

from tests.scale.airflow_stack import REPO, base_env, run
from tests.servers import Postgres

pytestmark = pytest.mark.airflow

SECRET_FILES = ("/run/secrets/airflow_db_url", "/run/secrets/airflow_result_backend")
READ_SETTINGS = """
import json
from airflow.configuration import conf
names = ["core.executor", "core.execution_api_server_url", "database.sql_alchemy_conn",
         "celery.broker_url", "celery.result_backend"]
print(json.dumps({name: conf.get(*name.split(".")) for name in names}))
"""


def production_settings() -> str:
    """The `ini` block of docs/scaling.md (Growing past one machine), unindented."""
    page = (REPO / "docs" / "scaling.md").read_text(encoding="utf-8")
    block = re.search(r"```ini\n(.*?)\n\s*```", page, re.S)
    assert block, "docs/scaling.md: no ini block (the production airflow.cfg settings)"
    return "\n".join(line.strip() for line in block[1].splitlines())


def test_the_documented_production_airflow_cfg_loads_and_reaches_postgresql(tmp_path: Path):
    settings = production_settings()
    with Postgres() as postgres:
        postgres.create_database("airflow")
        values = {
            SECRET_FILES[0]: postgres.url("airflow"),
            SECRET_FILES[1]: postgres.url("airflow", "db+postgresql+psycopg"),
        }
        for path, value in values.items():
            assert path in settings, f"docs/scaling.md's airflow.cfg no longer reads {path}"
            secret = tmp_path / Path(path).name
            secret.write_text(value, encoding="utf-8")  # as printf %s writes it (docs/scaling.md)
            secret.chmod(0o600)
            settings = settings.replace(path, str(secret))
        merged = configparser.ConfigParser(interpolation=None)
        merged.read(REPO / "airflow.cfg", encoding="utf-8")
        merged.read_string(settings)
        config = tmp_path / "airflow.cfg"
        with config.open("w", encoding="utf-8") as out:
            merged.write(out)
        env = {
            name: value
            for name, value in base_env(tmp_path / "home", tmp_path / "contentpulse.yml").items()
            if not name.startswith(("AIRFLOW__DATABASE__", "AIRFLOW__CELERY__"))
            and name != "AIRFLOW__CORE__EXECUTOR"
        }
        env["AIRFLOW_CONFIG"] = str(config)

        # Airflow's own loader, as `airflow config get-value` uses it, in one process
        read = run(env, sys.executable, "-c", READ_SETTINGS).strip().splitlines()[-1]
        assert json.loads(read) == {
            "core.executor": "CeleryExecutor",
            "core.execution_api_server_url": "http://airflow-api.internal:8080/execution/",
            "database.sql_alchemy_conn": values[SECRET_FILES[0]],
            "celery.broker_url": "redis://redis.internal:6379/0",
            "celery.result_backend": values[SECRET_FILES[1]],
        }
        assert "Connection successful" in run(env, "db", "check")
