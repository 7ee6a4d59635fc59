"""The GA4 connector through google-analytics-data's REST transport, over real HTTP, against
the sandbox: exact rows, paging, the metadata check, sampling, thresholding, "(other)",
quota, retries and credentials."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pyarrow as pa
import pytest

from connectors.ga4 import extract, page_item_id, plan_windows, settings
from connectors.ga4.client import QuotaExhausted
from connectors.ga4.settings import GA4Source, PagePaths
from contentpulse.credentials import Connection, get_connection
from contentpulse.errors import ConfigError, CredentialsError, SourceError
from contentpulse.streams import Window
from sandbox import ChannelSpec, Fault, Portfolio, Sandbox
from sandbox.ga4_portfolio import Ga4Portfolio, PropertySpec

END = date(2026, 11, 20)
CLOCK = END + timedelta(days=1)  # GA4 serves yesterday
PAGES = ["date", "hostName", "pagePath", "pageTitle"]
TRAFFIC = ["date", "hostName", "pagePath", "sessionSource", "sessionMedium", "sessionCampaignName"]


def ga4_portfolios(days: int = 40, **spec) -> tuple[Portfolio, Ga4Portfolio]:
    """A tiny YouTube portfolio and one GA4 property publishing its stories."""
    youtube = Portfolio(
        [ChannelSpec("Alpha News", 8, "America/New_York"), ChannelSpec("Beta", 8, "Asia/Tokyo")],
        start=END - timedelta(days=days - 1),
        end=END,
    )
    prop = PropertySpec(
        "Northwind web",
        spec.pop("articles", 15),
        timezone="America/New_York",
        locales=("en",),
        stories=True,
        **spec,
    )
    return youtube, Ga4Portfolio([prop], youtube.start, END, stories=youtube)


def ga4_source(sandbox: Sandbox, **changes) -> GA4Source:
    prop = sandbox.ga4.portfolio.properties[0]
    return GA4Source(
        base_url=sandbox.base_url,
        token_uri=f"{sandbox.base_url}/token",
        max_calls_per_second=None,
        page_paths={"locales": ["en"]},
        accounts=[
            {"id": prop.property_id, "timezone": prop.spec.timezone, "conn_id": "ga4_sandbox"}
        ],
    ).model_copy(update=changes)


@pytest.fixture
def ga4_sandbox() -> Iterator[Sandbox]:
    youtube, ga4 = ga4_portfolios()
    with Sandbox(youtube, clock=CLOCK, ga4=ga4) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr("connectors.retry.sleep", lambda s: None)


def run(source: GA4Source, window: Window | None = None, conn: Connection | None = None):
    """Every unit of one property's extraction, tables concatenated per stream."""
    account = source.accounts[0]
    window = window or Window(END - timedelta(days=39), END)
    conn = conn or get_connection(account.conn_id)
    results = list(extract(account, window, source, conn, f"t-{uuid.uuid4().hex[:8]}"))
    tables: dict[str, list[pa.Table]] = {}
    for result in results:
        for name, table in result.tables.items():
            tables.setdefault(name, []).append(table)
    calls = sum(r.calls.calls for r in results)
    retries = sum(r.calls.retries for r in results)
    return {n: pa.concat_tables(t).to_pylist() for n, t in tables.items()}, calls, retries


def truth_rows(sandbox: Sandbox, dims: list[str], metrics: list[str], start=None, end=END):
    ga4 = sandbox.ga4.portfolio
    prop = ga4.properties[0]
    start = start or END - timedelta(days=39)
    return ga4.report(prop.property_id, dims, metrics, start, end, sandbox.clock)


def landed(rows: list[dict], dims: list[str], metrics: list[str]) -> dict[tuple, tuple]:
    out = {}
    for row in rows:
        key = tuple(row[d].strftime("%Y%m%d") if d == "date" else row[d] for d in dims)
        assert key not in out, f"landed twice: {key}"
        out[key] = tuple(int(row[m]) for m in metrics)
    return out


def runreport_calls(sandbox: Sandbox) -> int:
    return sum(n for path, n in sandbox.calls.items() if path.endswith(":runReport"))


def test_extract_lands_exactly_what_the_sandbox_serves(ga4_sandbox):
    tables, _, _ = run(ga4_source(ga4_sandbox))
    for stream, dims, metrics in (
        ("content_daily", PAGES, list(settings.PAGE_METRICS)),
        ("traffic_daily", TRAFFIC, list(settings.TRAFFIC_METRICS)),
        ("account_daily", ["date"], list(settings.PROPERTY_METRICS)),
    ):
        truth = truth_rows(ga4_sandbox, dims, metrics)
        assert landed(tables[stream], dims, metrics) == dict(truth.rows), stream
        assert len(truth.rows) > 100 or stream == "account_daily"
    # each row's item is its normalised page; variants of one page are one item
    paths = PagePaths(locales=["en"])
    for row in tables["content_daily"]:
        assert row["item_id"] == page_item_id(row["hostName"], row["pagePath"], paths)
    items = {r["item_id"] for r in tables["content_daily"]}
    variants = {(r["hostName"], r["pagePath"]) for r in tables["content_daily"]}
    assert len(variants) > len(items) and all(i.startswith("northwind.example") for i in items)


def test_users_are_not_additive_the_property_total_is_gas_own(ga4_sandbox):
    tables, _, _ = run(ga4_source(ga4_sandbox))
    day = END - timedelta(days=5)
    page_users = sum(r["activeUsers"] for r in tables["content_daily"] if r["date"] == day)
    (total,) = [r for r in tables["account_daily"] if r["date"] == day]
    assert 0 < total["activeUsers"] < page_users  # GA4 deduplicates users across pages
    assert total["screenPageViews"] == sum(
        r["screenPageViews"] for r in tables["content_daily"] if r["date"] == day
    )


def test_pages_follow_row_count_with_string_limit_and_offset(ga4_sandbox):
    source = ga4_source(ga4_sandbox, page_size=200)
    tables, _, _ = run(source, Window(END - timedelta(days=9), END))
    truth = truth_rows(ga4_sandbox, PAGES, list(settings.PAGE_METRICS), END - timedelta(days=9))
    assert landed(tables["content_daily"], PAGES, list(settings.PAGE_METRICS)) == dict(truth.rows)
    pages = [r for r in tables["report_requests"] if r["report"] == "pages"]
    assert len(pages) == -(-len(truth.rows) // 200) > 2
    assert [r["page_offset"] for r in pages] == list(range(0, len(truth.rows), 200))
    assert {r["row_count"] for r in pages} == {len(truth.rows)}
    # the wire format: int64 as strings, offset omitted at 0
    bodies = [b for b in ga4_sandbox.ga4.bodies if b["dimensions"][-1] == {"name": "pageTitle"}]
    assert "offset" not in bodies[0] and bodies[0]["limit"] == "200"
    assert bodies[1]["offset"] == "200" and bodies[0]["returnPropertyQuota"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "reports": {
                    "pages": {"dimensions": PAGES, "metrics": ["screenPageViews", "conversions"]}
                }
            },
            "sources.ga4.reports.pages.metrics: 'conversions' is not a metric of GA4 property "
            r"\d+ \(GA4 renamed it keyEvents\)",
        ),
        (
            {"content_group": "contentgroup"},
            "sources.ga4.content_group: 'contentgroup' is not a dimension of GA4 property "
            r"\d+ \(did you mean 'contentGroup'\?\)",
        ),
    ],
)
def test_an_unknown_dimension_or_metric_is_a_config_error_before_any_token(
    ga4_sandbox, changes, message
):
    base = ga4_source(ga4_sandbox).model_dump()
    source = GA4Source.model_validate(base | changes)
    with pytest.raises(ConfigError, match=message):
        run(source)
    assert runreport_calls(ga4_sandbox) == 0
    assert not ga4_sandbox.ga4.quota.day_used


def test_the_content_group_and_added_metrics_land(ga4_sandbox):
    metrics = [*settings.PAGE_METRICS, "eventCount"]
    source = GA4Source.model_validate(
        ga4_source(ga4_sandbox).model_dump()
        | {
            "content_group": "contentGroup",
            "reports": {"pages": {"dimensions": PAGES, "metrics": metrics}},
        }
    )
    tables, _, _ = run(source, Window(END - timedelta(days=2), END))
    rows = tables["content_daily"]
    assert {r["content_group"] for r in rows} >= {"home", "electric buses"}
    assert all(r["eventCount"] == 3 * r["screenPageViews"] for r in rows)


def test_windows_are_planned_under_the_sampling_limit_so_nothing_is_sampled(ga4_sandbox):
    ga4 = ga4_sandbox.ga4
    events = ga4.portfolio.daily_events(ga4.portfolio.properties[0].property_id, CLOCK)
    limit = max(sorted(events.values())[len(events) // 2] * 3, max(events.values()))
    ga4.sampling_limit_events = limit
    tables, _, _ = run(ga4_source(ga4_sandbox, sampling_event_limit=limit))
    requests = tables["report_requests"]
    assert not any(r["is_sampled"] for r in requests)
    pages = [r for r in requests if r["report"] == "pages"]
    assert len(pages) >= 10 and all(r["window_end"] >= r["window_start"] for r in pages)
    truth = truth_rows(ga4_sandbox, PAGES, list(settings.PAGE_METRICS))
    assert landed(tables["content_daily"], PAGES, list(settings.PAGE_METRICS)) == dict(truth.rows)


def test_a_sampled_window_is_read_again_in_halves_and_a_sampled_day_is_flagged(ga4_sandbox):
    ga4 = ga4_sandbox.ga4
    events = ga4.portfolio.daily_events(ga4.portfolio.properties[0].property_id, CLOCK)
    window = Window(END - timedelta(days=7), END)
    busiest = max((d for d in events if d >= window.start), key=events.get)
    ga4.sampling_limit_events = events[busiest] - 1  # only the busiest day alone is too big
    # the config does not know the limit (a 360 property's, say): GA4's answers tell
    tables, _, _ = run(ga4_source(ga4_sandbox), window)
    pages = [r for r in tables["report_requests"] if r["report"] == "pages"]
    superseded = [r for r in pages if r["superseded"]]
    assert superseded and all(r["is_sampled"] for r in superseded)
    kept_sampled = [r for r in pages if r["is_sampled"] and not r["superseded"]]
    assert [(r["window_start"], r["window_end"]) for r in kept_sampled] == [(busiest, busiest)]
    assert kept_sampled[0]["sampling_space"] == events[busiest]
    other_days = [d for d in (window.start + timedelta(days=i) for i in range(8)) if d != busiest]
    truth = truth_rows(ga4_sandbox, PAGES, list(settings.PAGE_METRICS), window.start)
    got = landed(tables["content_daily"], PAGES, list(settings.PAGE_METRICS))
    for day in other_days:  # every unsampled day is exact
        key = day.strftime("%Y%m%d")
        assert {k: v for k, v in got.items() if k[0] == key} == {
            k: v for k, v in truth.rows if k[0] == key
        }


def test_thresholding_and_the_other_row_are_flagged_per_request():
    youtube, ga4 = ga4_portfolios(days=10, signals=True, cardinality_limit=25)
    with Sandbox(youtube, clock=CLOCK, ga4=ga4) as sandbox:
        tables, _, _ = run(ga4_source(sandbox), Window(END - timedelta(days=9), END))
        truth = truth_rows(sandbox, PAGES, list(settings.PAGE_METRICS), END - timedelta(days=9))
    requests = {r["report"]: r for r in tables["report_requests"]}
    assert requests["pages"]["subject_to_thresholding"]  # activeUsers on a signals property
    assert not requests["traffic"]["subject_to_thresholding"]  # no user metric asked
    assert requests["pages"]["data_loss_from_other_row"]
    assert requests["traffic"]["data_loss_from_other_row"]
    other = [r for r in tables["content_daily"] if r["item_id"] == settings.OTHER]
    assert other and {r["pagePath"] for r in other} == {"(other)"}
    assert truth.withheld > 0 and len(tables["content_daily"]) == len(truth.rows)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_honouring_retry_after(ga4_sandbox, monkeypatch, status):
    waits: list[float] = []
    monkeypatch.setattr("connectors.retry.sleep", waits.append)
    source = ga4_source(ga4_sandbox)
    clean, _, _ = run(source, Window(END - timedelta(days=2), END))
    ga4_sandbox.faults.add(
        Fault(path="/v1beta/properties/", kind="status", status=status, times=2, retry_after=3)
    )
    tables, _, retries = run(source, Window(END - timedelta(days=2), END))
    assert retries == 2 and waits == [3.0, 3.0]
    assert len(tables["content_daily"]) == len(clean["content_daily"])


def test_malformed_and_truncated_bodies_are_retried_then_reported_in_one_line(ga4_sandbox):
    source = ga4_source(ga4_sandbox)
    window = Window(END - timedelta(days=2), END)
    for kind in ("malformed", "truncated"):
        ga4_sandbox.faults.add(Fault(path="/v1beta/properties/", kind=kind, times=1))
        assert run(source, window)[2] == 1
    ga4_sandbox.faults.add(Fault(path="/v1beta/properties/", kind="truncated", times=99))
    with pytest.raises(SourceError) as err:
        run(source, window)
    assert str(err.value).endswith(
        "getMetadata: malformed response body (not the documented JSON) (gave up after 6 attempts)"
    )
    assert "\n" not in str(err.value)


def test_a_slow_response_past_the_timeout_is_retried(ga4_sandbox):
    source = ga4_source(ga4_sandbox, timeout_s=0.5)
    ga4_sandbox.faults.add(Fault(path="/v1beta/properties/", kind="slow", delay_s=1.5, times=1))
    tables, _, retries = run(source, Window(END - timedelta(days=2), END))
    assert retries == 1 and tables["content_daily"]


def test_a_spent_quota_stops_cleanly_without_retrying(ga4_sandbox):
    ga4_sandbox.ga4.limits.tokens_per_day = 2  # spent in the middle of the first chunk
    with pytest.raises(
        QuotaExhausted,
        match=r"GA4 quota spent \(Exhausted property tokens per day\); the next run resumes",
    ):
        run(ga4_source(ga4_sandbox, quota_reserve=0))  # no reserve: run until GA4 refuses
    assert runreport_calls(ga4_sandbox) == 3  # 2 served, the refused one not retried


def test_the_run_stops_at_the_reserve_before_ga4_refuses_the_property(ga4_sandbox):
    ga4_sandbox.ga4.limits.tokens_per_day = 8
    source = ga4_source(ga4_sandbox, tokens_per_day=8, quota_reserve=0.5)
    with pytest.raises(
        QuotaExhausted,
        match=r"chunk 2026-11-12_2026-11-20: tokensPerDay down to 5 of 8 \(a chunk costs about "
        r"3 and 50% stay in reserve\); stopping before GA4 refuses",
    ):
        run(source)  # the first chunk cost 3 tokens; the second would eat into the reserve
    assert ga4_sandbox.ga4.quota.day_used[(source.accounts[0].id, CLOCK)] == 3
    assert runreport_calls(ga4_sandbox) == 3  # GA4 never had to refuse anything


def test_parallel_chunks_wait_for_tokens_instead_of_starving_each_other(ga4_sandbox):
    from concurrent.futures import ThreadPoolExecutor

    from connectors.ga4 import extract_items, extract_metrics, plan_chunks

    ga4_sandbox.ga4.limits.tokens_per_day = 7  # two chunks of 3, not three
    source = ga4_source(ga4_sandbox, tokens_per_day=7, quota_reserve=0)
    account, conn = source.accounts[0], get_connection("ga4_sandbox")
    window = Window(END - timedelta(days=92), END)
    _, plan = extract_items(account, window, source, conn, "parallel")
    with ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(extract_metrics, account, c, plan, source, conn, "parallel")
            for c in plan_chunks(window)
        ]
    done = [f for f in futures if f.exception() is None]
    stopped = [f.exception() for f in futures if f.exception() is not None]
    assert len(done) == 2 and len(stopped) == 1  # not four chunks each cut short
    assert isinstance(stopped[0], QuotaExhausted)
    assert runreport_calls(ga4_sandbox) == 6


def test_calls_slow_down_when_an_hourly_quota_runs_low(ga4_sandbox, monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr("connectors.ga4.client.sleep", pauses.append)
    ga4_sandbox.ga4.limits.tokens_per_hour = 12
    source = ga4_source(ga4_sandbox, tokens_per_hour=12, slow_down_below=0.5, slow_down_s=2.0)
    run(source, Window(END - timedelta(days=2), END))  # 3 calls, 9 tokens left: no pacing
    assert pauses == []
    run(source)  # 6 calls: below 6 tokens left, each call waits first
    assert pauses == [2.0, 2.0]
    with pytest.raises(QuotaExhausted, match="tokensPerHour down to 1 of 12"):
        run(source)


def test_oauth_credentials_work_too_and_an_expired_token_is_refreshed(ga4_sandbox):
    oauth = get_connection("youtube_sandbox")  # client_id, client_secret, refresh_token
    source = ga4_source(ga4_sandbox)
    window = Window(END - timedelta(days=2), END)
    clean, _, _ = run(source, window, conn=oauth)
    ga4_sandbox.faults.add(Fault(path="/v1beta/properties/", kind="expired_token", times=1))
    tables, _, _ = run(source, window, conn=oauth)
    assert len(tables["content_daily"]) == len(clean["content_daily"]) > 0


def test_bad_credentials_are_one_line_without_the_secret(ga4_sandbox):
    key = json.loads(get_connection("ga4_sandbox").extra["keyfile_dict"])
    secret = key["private_key"].splitlines()[5]
    wrong_signer = Connection(
        "ga4_x",
        extra={"keyfile_dict": json.dumps(key | {"client_email": "someone@else.example"})},
    )
    source = ga4_source(ga4_sandbox)
    with pytest.raises(CredentialsError) as err:
        run(source, conn=wrong_signer)
    assert "credentials rejected (HTTP 401)" in str(err.value)
    broken = Connection(
        "ga4_x",
        extra={
            "keyfile_dict": json.dumps(key | {"private_key": "-----BEGIN PRIVATE KEY-----\nnope"})
        },
    )
    with pytest.raises(CredentialsError, match="private_key is not a valid PEM key") as err:
        run(source, conn=broken)
    with pytest.raises(CredentialsError, match="no GA4 credentials"):
        run(source, conn=Connection("ga4_x", extra={}))
    for e in (err.value,):
        assert secret not in str(e) and secret not in repr(e)


def test_a_property_the_credentials_cannot_read_is_one_line(ga4_sandbox):
    source = ga4_source(ga4_sandbox)
    other = source.model_copy(
        update={"accounts": [source.accounts[0].model_copy(update={"id": "123"})]}
    )
    with pytest.raises(
        SourceError, match=r"ga4 123: getMetadata: HTTP 403; these credentials cannot read"
    ):
        run(other)


@pytest.mark.parametrize(
    ("host", "path", "item"),
    [
        ("northwind.example", "/stories/x", "northwind.example/stories/x"),
        ("northwind.example", "/stories/x/?utm_source=newsletter", "northwind.example/stories/x"),
        ("amp.northwind.example", "/stories/x/amp/", "northwind.example/stories/x"),
        ("www.northwind.example", "/en/stories/x", "northwind.example/stories/x"),
        ("northwind.example", "/", "northwind.example"),
        ("(other)", "(other)", "(other)"),
        ("northwind.example", "(not set)", "(not set)"),
    ],
)
def test_page_paths_become_items(host, path, item):
    assert page_item_id(host, path, PagePaths(locales=["en"])) == item


def test_windows_hold_at_most_the_limit_and_a_big_day_stands_alone():
    chunk = Window(date(2026, 1, 1), date(2026, 1, 6))
    events = {chunk.start + timedelta(days=i): n for i, n in enumerate([4, 4, 4, 30, 1, 1])}
    assert plan_windows(chunk, events, 10) == [
        Window(date(2026, 1, 1), date(2026, 1, 2)),
        Window(date(2026, 1, 3), date(2026, 1, 3)),
        Window(date(2026, 1, 4), date(2026, 1, 4)),
        Window(date(2026, 1, 5), date(2026, 1, 6)),
    ]


def test_a_ga4_extract_loads_neither_pandas_nor_the_transforms():
    """The worker that extracts GA4 imports its client and the kernel's URL rules only."""
    import subprocess
    import sys

    code = (
        "import sys, connectors.ga4.hooks\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'transforms', "
        "'models', 'reports', 'great_expectations'}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert run.stdout.strip() == "[]", run.stdout + run.stderr
