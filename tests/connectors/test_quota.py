"""Budgets and the rate limiter, on a fake clock (no real waiting, no timing thresholds)."""

from __future__ import annotations

import pytest

from connectors import quota
from connectors.quota import Budget, QuotaStop, RateLimiter, Stopped, Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_calls_evenly(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(quota, "time", clock)
    limiter = RateLimiter(per_second=4)
    for _ in range(5):
        limiter.wait()
    assert clock.sleeps == [0.25, 0.25, 0.25, 0.25]  # the first call goes at once


def test_rate_limiter_does_not_wait_when_calls_are_already_slow(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(quota, "time", clock)
    limiter = RateLimiter(per_second=4)
    for _ in range(3):
        limiter.wait()
        clock.now += 1.0  # each call takes a second by itself
    assert clock.sleeps == []


def test_no_limit_never_waits(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(quota, "time", clock)
    limiter = RateLimiter(per_second=None)
    for _ in range(10):
        limiter.wait()
    assert clock.sleeps == []


def test_budget_refuses_the_call_that_would_overspend():
    budget = Budget({"units": 3, "queries": None})
    for _ in range(3):
        budget.spend("units", 1, "call")
    budget.spend("queries", 10_000, "unlimited")
    with pytest.raises(QuotaStop, match=r"videos.list: the run's units budget of 3 units is spent"):
        budget.spend("units", 1, "videos.list")
    assert budget.spent == {"units": 3, "queries": 10_000}


def test_a_stop_refuses_every_later_request_and_keeps_the_first_reason():
    throttle = Throttle(Budget({"units": 2}))
    throttle.before_call("units", 1, "first")
    first = QuotaStop("graph: throttled by Meta (Graph error 4)")
    assert throttle.halt(first) is first
    throttle.halt(QuotaStop("a later stop"))
    assert throttle.stopped is first
    with pytest.raises(Stopped, match=r"^second: not sent, the run stopped: graph: throttled"):
        throttle.before_call("units", 1, "second")
    with pytest.raises(Stopped):
        throttle.check("getMetadata")  # a request that draws on no budget
    assert throttle.budget.spent == {"units": 1}  # nothing spent on what was not sent


def test_a_spent_budget_stops_the_run_for_every_worker():
    throttle = Throttle(Budget({"units": 1}))
    throttle.before_call("units", 1, "call")
    with pytest.raises(QuotaStop, match="budget of 1 units is spent") as spent:
        throttle.before_call("units", 1, "videos.list")
    assert throttle.stopped is spent.value
    with pytest.raises(Stopped):
        throttle.before_call("other", 0, "reports.query")  # another API of the same run
