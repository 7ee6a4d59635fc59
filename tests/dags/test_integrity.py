"""DAG files parse without errors, carry docs, owners and tags, and import nothing heavy at parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

DAG_FILES = sorted((REPO / "dags").glob("*.py"))
HEAVY = (
    "great_expectations",
    "pandas",
    "duckdb",
    "plotly",
    "googleapiclient",
    "google.analytics",
    "pyarrow",
)

PARSE = (
    f"HEAVY = {tuple(h.split('.')[0] for h in HEAVY)!r}\n"
    + """
import json, sys, time
started = time.perf_counter()
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
    "dags": {d.dag_id: {"doc": bool(d.doc_md), "owner": d.owner, "tags": sorted(d.tags), "tasks": len(d.tasks),
                        "params": {k: d.params.get_param(k).schema for k in d.params},
                        "named": {t.task_id: t.map_index_template for t in d.tasks
                                  if t.task_id.startswith("extract_")}}
             for d in bag.dags.values()},
    "heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith("google.analytics")),
    "seconds": time.perf_counter() - started,
}))
"""
)


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(REPO / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(REPO / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.airflow
def test_no_import_errors(dagbag):
    assert dagbag["errors"] == {}
    assert set(dagbag["dags"]) == {"contentpulse_nightly", "contentpulse_weekly_report"}


@pytest.mark.airflow
def test_every_dag_has_docs_owner_and_tags(dagbag):
    for dag_id, info in dagbag["dags"].items():
        assert info["doc"], dag_id
        assert info["owner"] and info["owner"] != "airflow", dag_id
        assert "contentpulse" in info["tags"], dag_id


@pytest.mark.airflow
def test_the_nightly_trigger_form_asks_for_a_backfill_range_and_extracts_are_named(dagbag):
    nightly = dagbag["dags"]["contentpulse_nightly"]
    params = nightly["params"]
    assert set(params) == {"backfill_start", "backfill_end"}
    assert all(p["format"] == "date" and p["title"].startswith("Backfill") for p in params.values())
    assert nightly["named"] and all(
        "['account']['name']" in template for template in nightly["named"].values()
    ), nightly["named"]


@pytest.mark.airflow
def test_no_heavy_import_at_parse_time(dagbag):
    # pandas is imported by Airflow itself in some versions; ours must add nothing from this list
    ours = [m for m in dagbag["heavy"] if not m.startswith("pandas")]
    assert ours == [], ours


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[f.name for f in DAG_FILES])
def test_dag_file_parse_time_is_reported(dag_file, capsys):
    """Prints each DAG file's own import time (beyond airflow.sdk): a figure, not a threshold."""
    code = (
        f"import time, runpy, airflow.sdk; t = time.perf_counter(); runpy.run_path({str(dag_file)!r}); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "AIRFLOW__CORE__UNIT_TEST_MODE": "True"}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-1500:]
    with capsys.disabled():
        print(
            f"\n  parse {dag_file.name}: {float(out.stdout.strip().splitlines()[-1]) * 1000:.0f} ms "
            f"(process incl. airflow.sdk import: {time.perf_counter() - started:.1f} s)"
        )
