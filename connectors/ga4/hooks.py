"""GA4 connector: the page streams of one property, in units of work that land one by one.

`extract_items` reads the property's getMetadata and checks the configured reports against
it: an unknown dimension or metric is a ConfigError naming it, before any token is spent.
`extract_metrics` reads one window chunk: the property's daily totals first (account_daily;
their eventCount plans windows under GA4's sampling limit), then the pages report
(content_daily: date, hostName, pagePath, pageTitle) and the traffic report (traffic_daily:
sessions by source / medium / campaign per page) over those windows, paged with
limit/offset until rowCount. A response GA4 still sampled is replaced by two requests
over the halves of its window (a single day's stays, flagged). Every request lands a row
in report_requests with GA4's sampling, thresholding and "(other)" flags and the tokens it
cost; extract_log marks the chunk done. `pagePath` is normalised to the page's item_id
(`contentpulse.links.normalise_url`: host + path without query, trailing slash, AMP and
the configured locale prefixes), the key the models and content identity use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import pyarrow as pa
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metadata,
    MetricType,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.analytics.data_v1beta.types import Metric as GaMetric

from connectors.ga4 import settings
from connectors.ga4.client import Ga4Client, gauge_for
from connectors.ga4.settings import GA4Source, PagePaths
from connectors.quota import Budget, Throttle
from connectors.retry import RetryPolicy
from contentpulse.config import Account
from contentpulse.contract import Hooks
from contentpulse.credentials import Connection
from contentpulse.errors import ConfigError, SourceError
from contentpulse.links import normalise_url
from contentpulse.streams import ExtractResult, Window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportSpec:
    """One report as it is requested and landed."""

    name: str  # pages, traffic, property (the config's names)
    dimensions: tuple[str, ...]  # requested, date first (the content group last, if any)
    metrics: tuple[str, ...]
    types: tuple[pa.DataType, ...]  # the landed type of each metric

    @property
    def stream(self) -> str:
        return settings.STREAMS[self.name]


@dataclass(frozen=True)
class Plan:
    """What extract_items hands each chunk: the reports, checked against the property."""

    reports: dict[str, ReportSpec]
    content_group: str | None


def budget(source: GA4Source) -> Budget:
    """The per-run budget: runReport requests (tokens are read from GA4's own figures)."""
    return Budget({settings.REQUESTS: source.budget_requests})


def plan_chunks(window: Window) -> list[Window]:
    """The units a window is read in: at most a month each, from the window's start."""
    return window.chunks(settings.WINDOW_CHUNK_DAYS)


def plan_windows(chunk: Window, events: dict[date, int], limit: int) -> list[Window]:
    """Consecutive windows covering `chunk`, each holding at most `limit` events (a day
    over the limit on its own is a window of one day): requests GA4 will not sample."""
    out, start, total = [], chunk.start, 0
    day = chunk.start
    while day <= chunk.end:
        n = events.get(day, 0)
        if day > start and total + n > limit:
            out.append(Window(start, day - timedelta(days=1)))
            start, total = day, 0
        total += n
        day += timedelta(days=1)
    out.append(Window(start, chunk.end))
    return out


def page_item_id(host: str, path: str, paths: PagePaths) -> str:
    """The content item a (hostName, pagePath) row belongs to: `northwind.example/stories/x`
    for `amp.northwind.example` + `/en/stories/x/amp/?utm_source=y` (with locale en);
    GA4's "(other)" and "(not set)" rows keep their own names."""
    return _item_id(host, path, tuple(paths.locales), tuple(paths.host_prefixes))


@lru_cache(maxsize=200_000)
def _item_id(host: str, path: str, locales: tuple[str, ...], prefixes: tuple[str, ...]) -> str:
    if settings.OTHER in (host, path):
        return settings.OTHER
    if not path.startswith("/"):
        return path  # "(not set)": GA4 had no path for these hits
    if not host or host.startswith("("):
        return normalise_url(path, locales=locales) or path
    return (
        normalise_url(f"https://{host}{path}", drop_prefixes=prefixes, locales=locales)
        or f"{host}{path}"
    )


# -- the metadata check -------------------------------------------------------------------
def _hint(name: str, known: set[str]) -> str:
    if name in settings.RENAMED:
        return f" (GA4 renamed it {settings.RENAMED[name]})"
    close = [k for k in known if k.lower() == name.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_reports(metadata: Metadata, source: GA4Source, property_id: str) -> Plan:
    """The configured reports, checked against the property's dimensions and metrics."""
    dims = {d.api_name for d in metadata.dimensions}
    metric_types = {m.api_name: m.type_ for m in metadata.metrics}
    where = f"GA4 property {property_id}"
    if source.content_group and source.content_group not in dims:
        raise ConfigError(
            f"sources.ga4.content_group: {source.content_group!r} is not a dimension of "
            f"{where}{_hint(source.content_group, dims)}"
        )
    reports = {}
    for name in settings.STREAMS:
        report = getattr(source.reports, name)
        for dim in report.dimensions:
            if dim not in dims:
                raise ConfigError(
                    f"sources.ga4.reports.{name}.dimensions: {dim!r} is not a dimension of "
                    f"{where}{_hint(dim, dims)}"
                )
        for metric in report.metrics:
            if metric not in metric_types:
                raise ConfigError(
                    f"sources.ga4.reports.{name}.metrics: {metric!r} is not a metric of "
                    f"{where}{_hint(metric, set(metric_types))}"
                )
        # date first: rows are keyed and landed by it
        dimensions = ("date", *(d for d in report.dimensions if d != "date"))
        if name == "pages" and source.content_group and source.content_group not in dimensions:
            dimensions += (source.content_group,)
        types = tuple(
            settings.METRIC_TYPES.get(m)
            or (pa.int64() if metric_types[m] == MetricType.TYPE_INTEGER else pa.float64())
            for m in report.metrics
        )
        reports[name] = ReportSpec(name, dimensions, tuple(report.metrics), types)
    return Plan(reports, source.content_group)


# -- reading reports ----------------------------------------------------------------------
@dataclass
class _Unit:
    """What one chunk's requests share: the client, where rows go, the request log."""

    client: Ga4Client
    account: Account
    source: GA4Source
    plan: Plan
    extracted_at: datetime
    run_id: str
    requests: list[dict[str, Any]]

    @property
    def property_id(self) -> str:
        return self.account.id


_DATES: dict[str, date] = {}


def _date(value: str) -> date:
    day = _DATES.get(value)
    if day is None:
        day = _DATES[value] = datetime.strptime(value, "%Y%m%d").date()
    return day


def _request(unit: _Unit, spec: ReportSpec, window: Window, offset: int) -> RunReportRequest:
    return RunReportRequest(
        property=f"properties/{unit.property_id}",
        dimensions=[Dimension(name=d) for d in spec.dimensions],
        metrics=[GaMetric(name=m) for m in spec.metrics],
        date_ranges=[
            DateRange(start_date=window.start.isoformat(), end_date=window.end.isoformat())
        ],
        limit=unit.source.page_size,
        offset=offset,
        # a stable order, so pages neither skip nor repeat rows
        order_bys=[
            OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d)) for d in spec.dimensions
        ],
        return_property_quota=True,
    )


def _parse(unit: _Unit, spec: ReportSpec, window: Window, pb: Any) -> list[list[Any]]:
    """The rows of one response as [dimension values..., metric values...], typed; a
    response in another shape is one SourceError line naming the report and window."""
    what = f"ga4 {unit.property_id}: runReport {spec.name} {window}"
    dims = [h.name for h in pb.dimension_headers]
    metrics = [h.name for h in pb.metric_headers]
    if dims != list(spec.dimensions) or metrics != list(spec.metrics):
        raise SourceError(
            f"{what}: malformed response: headers {dims + metrics}, "
            f"expected {list(spec.dimensions) + list(spec.metrics)}"
        )
    nd, nm = len(dims), len(metrics)
    casts = [int if t == pa.int64() else float for t in spec.types]
    out = []
    for i, row in enumerate(pb.rows):
        dvals = [v.value for v in row.dimension_values]
        mvals = [v.value for v in row.metric_values]
        if len(dvals) != nd or len(mvals) != nm:
            raise SourceError(
                f"{what}: malformed response: row {i} has {len(dvals)} dimension and "
                f"{len(mvals)} metric values, expected {nd} and {nm}"
            )
        try:
            typed = [cast(v) for cast, v in zip(casts, mvals, strict=True)]
            dvals[0] = _date(dvals[0]) if dims[0] == "date" else dvals[0]
        except ValueError:
            raise SourceError(
                f"{what}: malformed response: row {i} has a value that is not a "
                f"{'date' if dims[0] == 'date' else 'number'} ({dvals[0]!r}, {mvals!r})"
            ) from None
        out.append(dvals + typed)
    return out


def _read(unit: _Unit, spec: ReportSpec, window: Window, restarts: int = 0) -> list[list[Any]]:
    """Every row of a report over `window`, paged until rowCount; a sampled window of more
    than one day is read again as two halves."""
    offset, rows, logged = 0, [], []
    row_count: int | None = None
    while True:
        response = unit.client.run_report(spec.name, _request(unit, spec, window, offset))
        pb = RunReportResponse.pb(response)
        meta, quota = pb.metadata, pb.property_quota
        sampled = len(meta.sampling_metadatas) > 0
        page = _parse(unit, spec, window, pb)
        record = {
            "account_id": unit.property_id,
            "report": spec.name,
            "window_start": window.start,
            "window_end": window.end,
            "page_offset": offset,
            "page_limit": unit.source.page_size,
            "rows_returned": len(page),
            "row_count": pb.row_count,
            "is_sampled": sampled,
            "samples_read": sum(m.samples_read_count for m in meta.sampling_metadatas) or None,
            "sampling_space": sum(m.sampling_space_size for m in meta.sampling_metadatas) or None,
            "data_loss_from_other_row": meta.data_loss_from_other_row,
            "subject_to_thresholding": meta.subject_to_thresholding,
            "superseded": False,
            "tokens_consumed": quota.tokens_per_day.consumed,
            "tokens_per_day_remaining": quota.tokens_per_day.remaining,
            "tokens_per_hour_remaining": quota.tokens_per_hour.remaining,
            "tokens_per_project_per_hour_remaining": quota.tokens_per_project_per_hour.remaining,
            "extracted_at": unit.extracted_at,
            "run_id": unit.run_id,
        }
        unit.requests.append(record)
        logged.append(record)
        if sampled and window.days > 1:
            for r in logged:
                r["superseded"] = True
            half = window.start + timedelta(days=window.days // 2 - 1)
            log.info(
                "ga4 %s: %s %s sampled; reading it in halves", unit.property_id, spec.name, window
            )
            return _read(unit, spec, Window(window.start, half)) + _read(
                unit, spec, Window(half + timedelta(days=1), window.end)
            )
        if row_count is not None and pb.row_count != row_count:
            # GA4 reprocessed the range between pages: read the window again from the start
            for r in logged:
                r["superseded"] = True
            if restarts >= 2:
                raise SourceError(
                    f"ga4 {unit.property_id}: runReport {spec.name} {window}: rowCount keeps "
                    "changing between pages; try again later"
                )
            return _read(unit, spec, window, restarts + 1)
        row_count = pb.row_count
        rows.extend(page)
        offset += len(page)
        if offset >= row_count:
            return rows
        if not page:
            raise SourceError(
                f"ga4 {unit.property_id}: runReport {spec.name} {window}: malformed response: "
                f"no rows at offset {offset} although rowCount is {row_count}"
            )


def _table(unit: _Unit, spec: ReportSpec, rows: list[list[Any]]) -> pa.Table:
    """Rows of a report as its landing stream (metrics a config adds land as extra columns)."""
    base = settings.SCHEMAS[spec.stream]
    fields = list(base)
    known = set(base.names)
    fields[-2:-2] = [
        pa.field(m, t) for m, t in zip(spec.metrics, spec.types, strict=True) if m not in known
    ]
    schema = pa.schema(fields)
    paths = unit.source.page_paths
    index = {d: i for i, d in enumerate(spec.dimensions)}
    n = len(spec.dimensions)
    host_i, path_i = index.get("hostName"), index.get("pagePath")
    group_i = (
        index.get(unit.plan.content_group)
        if spec.name == "pages" and unit.plan.content_group
        else None
    )
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for row in rows:
        columns["account_id"].append(unit.property_id)
        columns["date"].append(row[0])
        for dim in (
            "hostName",
            "pagePath",
            "pageTitle",
            "sessionSource",
            "sessionMedium",
            "sessionCampaignName",
        ):
            if dim in columns:
                columns[dim].append(row[index[dim]] if dim in index else None)
        if "item_id" in columns:
            columns["item_id"].append(page_item_id(row[host_i], row[path_i], paths))
        if "content_group" in columns:
            columns["content_group"].append(row[group_i] if group_i is not None else None)
        for j, metric in enumerate(spec.metrics):
            columns[metric].append(row[n + j])
    length = len(rows)
    for name in schema.names:
        if not columns[name] and length:
            columns[name] = [None] * length
    columns["extracted_at"] = [unit.extracted_at] * length
    columns["run_id"] = [unit.run_id] * length
    return pa.Table.from_pydict(columns, schema=schema)


def _client(
    account: Account, source: GA4Source, conn: Connection, run_id: str, throttle: Throttle | None
) -> Ga4Client:
    policy = RetryPolicy(max_attempts=source.max_attempts)
    return Ga4Client(
        account.id, conn, source, policy, throttle, gauge_for(run_id, account.id, source)
    )


def extract_items(
    account: Account,
    window: Window,
    source: GA4Source,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
    state: None = None,
) -> tuple[ExtractResult, Plan]:
    """The property's metadata, and the reports checked against it (no tokens spent).

    Pages are content items as the reports find them; staging derives them, so this unit
    lands nothing of its own."""
    with _client(account, source, conn, run_id, throttle) as client:
        plan = check_reports(client.metadata(), source, account.id)
    return ExtractResult(settings.PLATFORM, account.id, window, {}, client.calls), plan


def _read_chunk(
    account: Account,
    chunk: Window,
    plan: Plan,
    source: GA4Source,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None,
    extracted_at: datetime,
) -> tuple[dict[str, pa.Table], Ga4Client]:
    """The property's totals over the chunk, then pages and traffic over windows that GA4
    will not sample; every request logged."""
    with _client(account, source, conn, run_id, throttle) as client:
        unit = _Unit(client, account, source, plan, extracted_at, run_id, [])
        prop = plan.reports["property"]
        totals = _read(unit, prop, chunk)
        events_i = len(prop.dimensions) + prop.metrics.index("eventCount")  # date is first
        events = {row[0]: row[events_i] for row in totals}
        windows = plan_windows(chunk, events, source.sampling_event_limit)
        tables = {prop.stream: _table(unit, prop, totals)}
        for name in ("pages", "traffic"):
            spec = plan.reports[name]
            rows = [row for window in windows for row in _read(unit, spec, window)]
            tables[spec.stream] = _table(unit, spec, rows)
    tables["report_requests"] = pa.Table.from_pylist(
        unit.requests, schema=settings.SCHEMAS["report_requests"]
    )
    return tables, client


def extract_metrics(
    account: Account,
    chunk: Window,
    plan: Plan,
    source: GA4Source,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """One window chunk of every report; its extract_log row marks the chunk complete.

    The chunk starts when the property's quota gauge says its tokens are there (it may wait
    for chunks in flight, or stop the run cleanly)."""
    extracted_at = datetime.now(UTC)
    gauge = gauge_for(run_id, account.id, source)
    gauge.begin_unit(f"ga4 {account.id}: chunk {chunk}")
    try:
        tables, client = _read_chunk(
            account, chunk, plan, source, conn, run_id, throttle, extracted_at
        )
    except BaseException:
        gauge.end_unit(None)
        raise
    gauge.end_unit(client.calls.units)
    last = max(tables["account_daily"].column("date").to_pylist(), default=None)
    log_row = {
        "account_id": account.id,
        "window_start": chunk.start,
        "window_end": chunk.end,
        "last_date_returned": last,
        "calls": client.calls.calls,
        "quota_units": client.calls.units,
        "retries": client.calls.retries,
        "rows": sum(t.num_rows for t in tables.values()),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }
    tables["extract_log"] = pa.Table.from_pylist([log_row], schema=settings.SCHEMAS["extract_log"])
    return ExtractResult(settings.PLATFORM, account.id, chunk, tables, client.calls, last)


HOOKS = Hooks(
    plan_chunks=plan_chunks,
    extract_items=extract_items,
    extract_metrics=extract_metrics,
    budget=budget,
)
# the one-shot form: every unit in order, one after another (tests and scripts)
extract = HOOKS.extract
