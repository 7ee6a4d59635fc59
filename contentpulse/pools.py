"""Airflow pools: how many extract tasks of each source run at once, and one warehouse writer.

Each source's mapped extract tasks run in the pool `contentpulse_<platform>`. Its size comes
from the source's config: `pool_slots` when set, else the API's concurrent-request limit
(its Connector's `concurrent_requests`)
divided by the requests one task makes at once (`concurrency`), at least 1. The warehouse
steps (load, build, check, publish) share `contentpulse_warehouse` with one slot, so
overlapping runs (a backfill during the night) take turns; the writer lock in
`contentpulse.warehouse` backs this up outside Airflow.

    contentpulse pools --json pools.json && airflow pools import pools.json
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the DAG files import the pool names at parse time: keep this light
    from contentpulse.config import Config

WAREHOUSE_POOL = "contentpulse_warehouse"
# Under Celery, the warehouse steps must run where the DuckDB file is: set this to a queue only
# the warehouse machine's worker consumes (`airflow celery worker --queues default,warehouse`)
# in the environment of the DAG processor. Unset: Airflow's default queue.
WAREHOUSE_QUEUE_ENV = "CONTENTPULSE_WAREHOUSE_QUEUE"


def warehouse_task_args() -> dict[str, str]:
    """The pool, and the queue when one is set, of the tasks that write the warehouse."""
    queue = os.environ.get(WAREHOUSE_QUEUE_ENV, "").strip()
    return {"pool": WAREHOUSE_POOL, **({"queue": queue} if queue else {})}


def pool_name(platform: str) -> str:
    return f"contentpulse_{platform}"


def pool_sizes(cfg: Config) -> dict[str, int]:
    """Every pool the DAGs use, with its size for this config."""
    from contentpulse.registry import connector

    sizes = {}
    for platform, source in cfg.iter_sources():
        slots = getattr(source, "pool_slots", None)
        if slots is None:
            # requests the API takes at once from one project / app (its connector says)
            limit = connector(platform).concurrent_requests
            slots = max(1, limit // max(1, getattr(source, "concurrency", 1)))
        sizes[pool_name(platform)] = slots
    sizes[WAREHOUSE_POOL] = 1
    return sizes


def pools_json(cfg: Config) -> dict[str, dict]:
    """The pools in `airflow pools import` format."""
    return {
        name: {
            "slots": slots,
            "description": "contentpulse: the warehouse writer"
            if name == WAREHOUSE_POOL
            else f"contentpulse: {name.removeprefix('contentpulse_')} extract tasks at once",
            "include_deferred": False,
        }
        for name, slots in pool_sizes(cfg).items()
    }
