"""Per-run quota budgets and call-rate limits, shared by every worker of one source.

A budget is checked before each call: the run stops cleanly with QuotaStop before it would
spend past the configured units, and what finished is already landed, so the next run
resumes instead of starting over.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from contentpulse.errors import SourceError


class QuotaStop(SourceError):
    """The run must stop for quota (a per-run budget or the platform's own quota); resume later."""


@dataclass
class Budget:
    """Units allowed per API for this run; None means unlimited."""

    limits: dict[str, int | None]
    spent: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def spend(self, api: str, units: int, what: str) -> None:
        with self._lock:
            limit = self.limits.get(api)
            used = self.spent.get(api, 0)
            if limit is not None and used + units > limit:
                raise QuotaStop(
                    f"{what}: the run's {api} budget of {limit:,} units is spent; "
                    "the next run resumes from here"
                )
            self.spent[api] = used + units


class RateLimiter:
    """At most `per_second` calls a second across all threads (evenly spaced)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class Throttle:
    """What every call of one source's run passes through."""

    budget: Budget = field(default_factory=lambda: Budget({}))
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(None))
    # the latest usage percent a platform reported (e.g. Graph's usage headers), per account:
    # shared by the run's workers, so a new unit paces on what the last response said
    usage: dict[str, float] = field(default_factory=dict)

    def before_call(self, api: str, units: int, what: str) -> None:
        self.budget.spend(api, units, what)
        self.limiter.wait()
