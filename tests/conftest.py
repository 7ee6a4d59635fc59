"""Shared fixtures: a small deterministic portfolio served by the real sandbox on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from contentpulse.config import Config, load_config
from contentpulse.demo import use_sandbox_connections, write_sandbox_config
from sandbox import ChannelSpec, Portfolio, Sandbox
from tests.reliability.summary import pytest_terminal_summary  # noqa: F401 (a pytest hook)

REPO = Path(__file__).resolve().parent.parent
END = date(2026, 11, 20)  # the portfolio's last day
CLOCK = date(2026, 11, 22)  # the sandbox's today: analytics are served through END


def small_portfolio(videos: int = 30, days: int = 75) -> Portfolio:
    return Portfolio(
        [
            ChannelSpec("Alpha News", videos, "America/New_York"),
            ChannelSpec("Beta キッチン", videos, "Asia/Tokyo", 0.5),
        ],
        start=END - timedelta(days=days),
        end=END,
    )


@pytest.fixture(autouse=True, scope="session")
def _offline_environment() -> None:
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ.pop("GOOGLE_CLOUD_UNIVERSE_DOMAIN", None)
    use_sandbox_connections()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(small_portfolio(), clock=CLOCK) as sb:
        yield sb


@pytest.fixture
def cfg(tmp_path: Path, sandbox: Sandbox) -> Config:
    return load_config(
        write_sandbox_config(tmp_path / "contentpulse.yml", sandbox, tmp_path / "data")
    )


# `make test` hands whole files to two workers in collection order (pytest-xdist --dist
# loadfile): the longest files go first, so that both workers finish at about the same time
# instead of one starting the Celery deployment when the other is done.
LONGEST_FIRST = (
    "tests/scale/test_celery.py",
    "tests/dags/test_dag_runs.py",
    "tests/e2e/test_demo.py",
    "tests/scale/test_lake.py",
    "tests/reliability/test_concurrent_readers.py",
    "tests/reliability/test_bad_input.py",
    "tests/reliability/test_operations.py",
    "tests/reliability/test_security.py",
    "tests/e2e/test_resume.py",
    "tests/reliability/test_fault_matrix.py",
    "tests/e2e/test_source_checks.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
