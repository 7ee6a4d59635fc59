"""Models are tested on tiny hand-made warehouses: one YouTube account, no sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from contentpulse.config import load_config

ACCOUNT = "UCtest"


@pytest.fixture
def cfg(tmp_path: Path):
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        "sources:\n  youtube:\n    accounts:\n"
        f"      - {{id: {ACCOUNT}, name: Test, timezone: UTC, conn_id: yt}}\n",
        encoding="utf-8",
    )
    return load_config(path)
