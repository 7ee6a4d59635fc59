"""The headless Chromium the report tests open pages in: Debian's `chromium` (installed by
`make test`), offline, with nothing of its own reaching for the network."""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(pw: Any) -> Any:
    """A headless Chromium browser from a `sync_playwright()` handle."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
