"""The Airflow pools: one per source, sized from its config, and one warehouse writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contentpulse import cli
from contentpulse.config import load_config
from contentpulse.pools import (
    WAREHOUSE_POOL,
    WAREHOUSE_QUEUE_ENV,
    pool_name,
    pool_sizes,
    pools_json,
    warehouse_task_args,
)

CONFIG = """
sources:
  youtube:
    concurrency: 4
    accounts: [{id: UCtest, name: Test, timezone: UTC, conn_id: yt}]
  ga4:
    concurrency: 3
    pool_slots: 5
    accounts: [{id: '123456', name: Web, timezone: UTC, conn_id: ga}]
  tiktok:
    concurrency: 16
    accounts: [{id: shop.tv, name: Shop, timezone: UTC, conn_id: tt}]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "contentpulse.yml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_each_source_gets_its_concurrent_limit_over_its_concurrency_and_one_writer(config_file):
    sizes = pool_sizes(load_config(config_file))
    assert sizes == {
        "contentpulse_youtube": 2,  # 8 requests at once for the project / 4 per task
        "contentpulse_ga4": 5,  # pool_slots wins over 10 // 3
        "contentpulse_tiktok": 1,  # 10 // 16 is 0: never less than one task
        WAREHOUSE_POOL: 1,
    }
    assert pool_name("youtube") == "contentpulse_youtube"


def test_pools_json_is_what_airflow_pools_import_reads(config_file, tmp_path, capsys):
    out = tmp_path / "pools.json"
    assert cli.main(["--config", str(config_file), "pools", "--json", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == pools_json(load_config(config_file))
    assert written[WAREHOUSE_POOL] == {
        "slots": 1,
        "description": "contentpulse: the warehouse writer",
        "include_deferred": False,
    }
    assert written["contentpulse_ga4"]["description"] == "contentpulse: ga4 extract tasks at once"
    printed = capsys.readouterr().out
    assert "contentpulse_youtube" in printed and f"airflow pools import {out}" in printed


def test_the_warehouse_steps_take_the_queue_only_when_one_is_set(monkeypatch):
    monkeypatch.delenv(WAREHOUSE_QUEUE_ENV, raising=False)
    assert warehouse_task_args() == {"pool": WAREHOUSE_POOL}
    monkeypatch.setenv(WAREHOUSE_QUEUE_ENV, " warehouse ")
    assert warehouse_task_args() == {"pool": WAREHOUSE_POOL, "queue": "warehouse"}
    monkeypatch.setenv(WAREHOUSE_QUEUE_ENV, "")
    assert warehouse_task_args() == {"pool": WAREHOUSE_POOL}
