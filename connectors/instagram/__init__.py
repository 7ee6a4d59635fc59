"""Instagram connector (Graph API): media, their lifetime insights, the account's days.

The hooks the pipeline calls (`HOOKS`) and the functions behind them are in hooks.py, the
API client in client.py, the config model, landing schemas and registry entry
(`CONNECTOR`) in settings.py. This package loads hooks.py only when one of its names is
asked for, so that the registry reads settings.py without the client library.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = frozenset({"client", "hooks", "settings"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES or name.startswith("__"):  # let the import system find these
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.hooks"), name)
