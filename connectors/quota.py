"""Per-run quota budgets, call-rate limits and the run's stop, shared by every worker of one source.

A budget is checked before each call: the run stops cleanly with QuotaStop before it would
spend past the configured units, and what finished is already landed, so the next run
resumes instead of starting over. The stop is checked before every request too: once a
platform has answered with a throttling or quota error (or a budget ran out), `halt` records
it, and no worker of the run sends that API another request (`Stopped`); requests already
in flight finish.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from contentpulse.errors import SourceError


class QuotaStop(SourceError):
    """The run must stop for quota (a per-run budget or the platform's own quota); resume later."""


class Stopped(QuotaStop):
    """A request not sent: the run already stopped on a throttling or quota answer."""


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
    _stop: QuotaStop | None = field(default=None, repr=False)
    _stop_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def stopped(self) -> QuotaStop | None:
        """The first throttling or quota stop of the run (None while the run goes on)."""
        return self._stop

    def halt(self, stop: QuotaStop) -> QuotaStop:
        """Record a throttling or quota answer: from now on no request of the run is sent.
        Returns `stop`, so that a client can `raise throttle.halt(...)` where it reads one."""
        with self._stop_lock:
            if self._stop is None:
                self._stop = stop
        return stop

    def check(self, what: str) -> None:
        """Stopped, when the run already stopped; for a request that draws on no budget."""
        stop = self._stop
        if stop is not None:
            raise Stopped(f"{what}: not sent, the run stopped: {stop}")

    def before_call(self, api: str, units: int, what: str) -> None:
        """Before every request (every attempt): the run's stop, its budget, the rate cap."""
        self.check(what)
        try:
            self.budget.spend(api, units, what)
        except QuotaStop as spent:
            raise self.halt(spent) from None
        self.limiter.wait()
        self.check(what)  # the stop may have come while this call waited its turn
