"""A throttling or quota answer stops the run's requests to that API at once.

Each case runs a real extraction (`pipeline.extract_source`, one worker) against the sandbox
made to answer one platform's stop: Graph's throttling codes and a usage header at the
limit, TikTok's rate limit, GA4's and YouTube's spent quotas. The sandbox logs every request
with when it arrived and when it was answered, so the test counts the requests a client sent
after it had the stop in hand: none. With several workers, only the requests already in
flight when the stop came may follow it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from connectors.graph import max_usage_percent
from contentpulse import pipeline
from contentpulse.config import load_config
from contentpulse.demo import write_sandbox_config
from contentpulse.streams import Window
from sandbox import ChannelSpec, Fault, Portfolio, Sandbox
from sandbox.server import Received
from sandbox.social_portfolio import SocialAccountSpec, SocialPortfolio
from tests.connectors.test_ga4 import ga4_portfolios

END = date(2026, 11, 20)
CLOCK = END + timedelta(days=2)
WINDOW = Window(END - timedelta(days=39), END)  # two month chunks on YouTube and GA4
PERSISTENT = 10_000


def graph_code(code: int) -> Callable[[Received], bool]:
    return lambda r: r.status != 200 and json.loads(r.body)["error"]["code"] == code


def usage_at_stop(r: Received) -> bool:
    return r.status == 200 and (max_usage_percent(r.headers) or 0) >= 95


@dataclass(frozen=True)
class Case:
    """One platform's stop: the sandbox that answers it, how, and which answer it is."""

    name: str
    platform: str
    sandbox: Callable[[], Sandbox]
    provoke: Callable[[Sandbox], None]
    is_stop: Callable[[Received], bool]
    config: dict | None = None


def _youtube() -> Sandbox:
    channels = [ChannelSpec("Alpha", 12, "UTC"), ChannelSpec("Beta", 12, "Asia/Tokyo")]
    return Sandbox(Portfolio(channels, WINDOW.start, END), clock=CLOCK)


def _ga4() -> Sandbox:
    youtube, ga4 = ga4_portfolios(days=40)
    return Sandbox(youtube, clock=END + timedelta(days=1), ga4=ga4)


def _social(*specs: SocialAccountSpec) -> Callable[[], Sandbox]:
    def make() -> Sandbox:
        youtube = Portfolio([ChannelSpec("Tiny", 2, "UTC")], WINDOW.start, END)
        social = SocialPortfolio(list(specs), WINDOW.start, END)
        return Sandbox(youtube, clock=CLOCK, social=social)

    return make


_IG = _social(SocialAccountSpec("instagram", "graph.one", 30, "America/New_York"))
_FB = _social(SocialAccountSpec("facebook", "Graph Page", 30, "UTC"))
_TT = _social(SocialAccountSpec("tiktok", "kumokitchen", 45, "Asia/Tokyo"))


def _graph(sandbox: Sandbox):
    return next(api for api in sandbox.apis if "/graph/" in api.prefixes)


def _tiktok(sandbox: Sandbox):
    return next(api for api in sandbox.apis if "/tiktok/" in api.prefixes)


def _set(**attributes) -> Callable[[Sandbox], None]:
    def provoke(sandbox: Sandbox) -> None:
        for name, value in attributes.items():
            setattr(_graph(sandbox), name, value)

    return provoke


def _rate_limit(sandbox: Sandbox) -> None:
    api = _tiktok(sandbox)
    api.now = lambda: 1_000_000.0  # one minute, however long the run takes
    api.set_rate_limit(4)


def _fault(path: str, kind: str, after: int) -> Callable[[Sandbox], None]:
    return lambda sandbox: sandbox.faults.add(Fault(path, kind, times=PERSISTENT, after=after))


def _daily_quota(units: int) -> Callable[[Sandbox], None]:
    def provoke(sandbox: Sandbox) -> None:
        sandbox.daily_quota = units

    return provoke


def _google_quota(r: Received) -> bool:
    return r.status in (403, 429) and (b"quotaExceeded" in r.body or b"tokens per day" in r.body)


NO_STOP_AT = {"stop_at": 100}  # let the platform's own code answer first
CASES = [
    Case("graph-4-app-limit", "instagram", _IG, _set(app_capacity=25), graph_code(4), NO_STOP_AT),
    Case("graph-17-user-limit", "instagram", _IG, _fault("/graph/", "throttle", 9), graph_code(17)),
    Case("graph-32-page-limit", "facebook", _FB, _set(account_capacity=25), graph_code(32), NO_STOP_AT),
    Case("graph-613-hourly", "facebook", _FB, _set(throttle_after=12), graph_code(613)),
    Case("graph-80002-instagram", "instagram", _IG, _set(account_capacity=25), graph_code(80002), NO_STOP_AT),
    Case("graph-usage-header", "instagram", _IG, _set(account_capacity=30), usage_at_stop),
    Case("tiktok-rate-limit", "tiktok", _TT, _rate_limit, lambda r: r.status == 429),
    Case("ga4-quota", "ga4", _ga4, _fault("/v1beta/properties/", "quota", 3), _google_quota),
    Case("youtube-analytics-quota", "youtube", _youtube, _fault("/v2/reports", "quota", 5), _google_quota),
    Case("youtube-data-quota", "youtube", _youtube, _daily_quota(4), _google_quota),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda s: None)
    monkeypatch.setattr("connectors.graph.sleep", lambda s: None)
    monkeypatch.setattr("connectors.ga4.client.sleep", lambda s: None)


@pytest.fixture
def started() -> Iterator[Callable[[Callable[[], Sandbox]], Sandbox]]:
    running: list[Sandbox] = []

    def start(make: Callable[[], Sandbox]) -> Sandbox:
        running.append(make().start())
        return running[-1]

    yield start
    for sandbox in running:
        sandbox.stop()


def extract(tmp_path: Path, sandbox: Sandbox, platform: str, **changes) -> pipeline.StepResult:
    """One platform's extraction of WINDOW, with `changes` to its config."""
    path = write_sandbox_config(tmp_path / "contentpulse.yml", sandbox, tmp_path / "data")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["sources"] = {platform: raw["sources"][platform] | {"batch_size": 5} | changes}
    if platform in ("youtube", "ga4"):
        del raw["sources"][platform]["batch_size"]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = load_config(path)
    accounts = [a.id for a in dict(cfg.iter_sources())[platform].accounts]
    return pipeline.extract_source(cfg, platform, accounts, WINDOW, "stopped")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_no_request_follows_the_first_throttling_or_quota_answer(tmp_path, started, case):
    sandbox = started(case.sandbox)
    case.provoke(sandbox)
    step = extract(tmp_path, sandbox, case.platform, concurrency=1, **(case.config or {}))
    after = sandbox.requests_after(case.is_stop)
    assert after is not None, "the sandbox never answered with the stop"
    assert [r.path for r in after] == []
    assert len(step.errors) == 1 and "the next run resumes from here" in step.errors[0]
    assert "left for the next run" in step.errors[0]  # the stop cut the run short


def test_with_several_workers_only_requests_in_flight_follow_the_stop(tmp_path, started):
    sandbox = started(
        _social(
            SocialAccountSpec("instagram", "graph.one", 30, "America/New_York"),
            SocialAccountSpec("instagram", "graph.two", 30, "Europe/Berlin"),
        )
    )
    sandbox.faults.add(Fault("/graph/", "throttle", times=PERSISTENT, after=20))
    workers = 4
    step = extract(tmp_path, sandbox, "instagram", concurrency=workers)
    after = sandbox.requests_after(graph_code(17))
    assert after is not None
    # each other worker may have had one request on the wire; none sent another
    assert len(after) < workers
    assert len(step.errors) == 1 and "Graph error 17" in step.errors[0]
