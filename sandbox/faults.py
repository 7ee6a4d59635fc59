"""Faults the sandbox injects on demand, matched to requests by path prefix."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "status", "slow", "malformed", "truncated", "expired_token", "quota", "throttle"
]


@dataclass
class Fault:
    """Apply `kind` to the next `times` requests whose path starts with `path`, after
    letting the first `after` of them through (a fault in the middle of a run).

    `quota` answers as the platform does when a quota is spent for the day (or, on Meta and
    TikTok, which have none, their hard limits); `throttle` as it does when calls come too
    fast (YouTube 403 rateLimitExceeded, GA4 429 on concurrent requests, Graph code 17 with
    its usage headers at 100 %, TikTok 429 rate_limit_exceeded)."""

    path: str
    kind: FaultKind
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    delay_s: float = 0.0
    after: int = 0


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        """The fault to apply to this request, if any (consumes one use of it)."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path) and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None
