"""Each platform's `sources:` section for a sandbox: its accounts, pointed at the sandbox.

`SOURCES` is keyed by platform: the demo builds its config by walking the platform registry
and asking here for each platform the sandbox serves (None: it serves none of it). A new
source's fake API adds its entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.csv_exports import ExportPortfolio, export_types
from sandbox.server import Sandbox

CONN_IDS = {  # the sandbox's fake connections (connections.json)
    "youtube": "youtube_sandbox",
    "ga4": "ga4_sandbox",  # a service-account key (the YouTube one is OAuth)
    "instagram": "instagram_sandbox",
    "facebook": "facebook_sandbox",
    "tiktok": "tiktok_sandbox",
}
Section = Callable[[Sandbox, int, Path, ExportPortfolio | None], dict[str, Any] | None]


def _account(platform: str, account_id: str, name: str, timezone: str) -> dict[str, str]:
    return {"id": account_id, "name": name, "timezone": timezone, "conn_id": CONN_IDS[platform]}


def youtube(sandbox: Sandbox, lookback_days: int, data_dir: Path, exports) -> dict:
    return {
        "base_url": sandbox.base_url,
        "token_uri": f"{sandbox.base_url}/token",
        "lookback_days": lookback_days,
        "max_calls_per_second": None,  # the local sandbox needs no rate cap
        "accounts": [
            _account("youtube", c.channel_id, c.title, c.timezone)
            for c in sandbox.portfolio.channels
        ],
    }


def ga4(sandbox: Sandbox, lookback_days: int, data_dir: Path, exports) -> dict | None:
    if sandbox.ga4 is None:
        return None
    properties = sandbox.ga4.portfolio.properties
    return {
        "base_url": sandbox.base_url,
        "token_uri": f"{sandbox.base_url}/token",
        "lookback_days": lookback_days,
        "max_calls_per_second": None,
        "content_group": "contentGroup",
        "page_paths": {"locales": sorted({loc for p in properties for loc in p.spec.locales})},
        "accounts": [_account("ga4", p.property_id, p.name, p.spec.timezone) for p in properties],
    }


def _social(platform: str, sandbox: Sandbox, lookback_days: int) -> tuple[list, dict] | None:
    accounts = sandbox.social.by_platform(platform) if sandbox.social is not None else []
    if not accounts:
        return None
    common = {"lookback_days": lookback_days, "max_calls_per_second": None}
    return accounts, {
        **common,
        "accounts": [_account(platform, a.account_id, a.name, a.timezone) for a in accounts],
    }


def graph(platform: str) -> Section:
    def section(sandbox: Sandbox, lookback_days: int, data_dir: Path, exports) -> dict | None:
        found = _social(platform, sandbox, lookback_days)
        return None if found is None else {"base_url": f"{sandbox.base_url}/graph", **found[1]}

    return section


def tiktok(sandbox: Sandbox, lookback_days: int, data_dir: Path, exports) -> dict | None:
    found = _social("tiktok", sandbox, lookback_days)
    if found is None:
        return None
    accounts, section = found
    base = sandbox.base_url
    return {
        "base_url": f"{base}/tiktok",
        "business_base_url": f"{base}/tiktok-business",
        "token_uri": f"{base}/tiktok/v2/oauth/token/",
        **section,
        "business_accounts": [a.account_id for a in accounts if a.business],
    }


def csv_export(sandbox: Sandbox, lookback_days: int, data_dir: Path, exports) -> dict | None:
    if exports is None:
        return None
    return {
        "inbox": str(data_dir / "inbox"),
        "exports": export_types(),
        "accounts": [
            {
                "id": spec.account_id,
                "name": spec.name,
                "timezone": spec.timezone,
                "exports": [f"{spec.platform}_posts"],
            }
            for spec in exports.specs.values()
        ],
    }


SOURCES: dict[str, Section] = {
    "youtube": youtube,
    "ga4": ga4,
    "instagram": graph("instagram"),
    "facebook": graph("facebook"),
    "tiktok": tiktok,
    "csv_export": csv_export,
}
