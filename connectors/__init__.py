"""Connectors: one package per platform, each exposing `extract` and its landing `SCHEMAS`."""

from __future__ import annotations

import importlib

import pyarrow as pa

PLATFORMS = ("youtube",)


def landing_schemas(platform: str) -> dict[str, pa.Schema]:
    """The streams a platform's connector lands, with their Arrow schemas."""
    return importlib.import_module(f"connectors.{platform}.settings").SCHEMAS
