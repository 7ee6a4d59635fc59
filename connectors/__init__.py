"""Connectors: one package per platform, each exposing the same functions.

`connector(platform)` is the one registry: the pipeline and the loader find a platform's
`plan_chunks`, `extract_items`, `extract_metrics`, `budget` and landing `SCHEMAS` through it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from contentpulse.errors import ContentpulseError

if TYPE_CHECKING:  # the DAG files import PLATFORMS at parse time: keep this module light
    import pyarrow as pa

# every platform with a connector package, in this order (a package counts from the moment
# its settings module exists, so a new source is one folder)
_ORDER = ("youtube", "ga4", "instagram", "facebook", "tiktok", "csv_export")
PLATFORMS = tuple(p for p in _ORDER if (Path(__file__).parent / p / "settings.py").exists())


def _module(platform: str, suffix: str = "") -> ModuleType:
    if platform not in PLATFORMS:
        raise ContentpulseError(f"no connector for platform {platform!r}")
    return importlib.import_module(f"connectors.{platform}{suffix}")


def connector(platform: str) -> ModuleType:
    """The connector package of `platform` (imported on first use: DAG parsing stays light)."""
    return _module(platform)


def landing_schemas(platform: str) -> dict[str, pa.Schema]:
    """The streams a platform's connector lands, with their Arrow schemas (from the settings
    module alone: the loader needs no client library)."""
    return _module(platform, ".settings").SCHEMAS


def connection_fields(platform: str) -> tuple[tuple[str, ...], ...]:
    """The extra fields a platform's connection must hold: any one of these sets (none for a
    source that needs no credentials). docs/configuration.md lists them."""
    return getattr(_module(platform, ".settings"), "CONNECTION_EXTRA", ())
