"""GA4 Data API v1beta handlers over a Ga4Portfolio: `runReport` and `getMetadata`.

The wire format is the documented JSON of the REST API, as google-analytics-data's REST
transport sends and parses it: a camelCase request body whose int64 fields (`limit`,
`offset`) are strings and `offset` is absent at 0; responses with `dimensionHeaders`,
`metricHeaders`, `rows[].dimensionValues/metricValues` (every value a string), `rowCount`,
`metadata` and `propertyQuota`, proto3 style (false, 0 and empty fields omitted).

As the real API does, it rejects unknown fields, dimensions and metrics (400), caps `limit`
at 250,000, charges property tokens per request and reports them when asked
(`returnPropertyQuota`), refuses every request to a property whose daily or hourly tokens
are exhausted (429 RESOURCE_EXHAUSTED) until they refill, samples a request whose date
range holds more events than `sampling_limit_events` (`samplingMetadatas`), and flags
thresholding and the "(other)" row in `metadata`. Token prices are the sandbox's own (the
real ones are not published): 1 + 1 per 10,000 rows returned.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sandbox.errors import ApiError
from sandbox.ga4_portfolio import (
    DIMENSIONS,
    METRICS,
    USER_METRICS,
    Ga4Portfolio,
    _token,
)

PAGE_MAX = 250_000
PAGE_DEFAULT = 10_000
REQUEST_FIELDS = frozenset(
    {
        "property",
        "dimensions",
        "metrics",
        "dateRanges",
        "dimensionFilter",
        "metricFilter",
        "offset",
        "limit",
        "metricAggregations",
        "orderBys",
        "currencyCode",
        "cohortSpec",
        "keepEmptyRows",
        "returnPropertyQuota",
        "comparisons",
    }
)
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")
_RUN_REPORT = re.compile(r"^/v1beta/properties/([0-9]+):runReport$")
_METADATA = re.compile(r"^/v1beta/properties/([0-9]+)/metadata$")
_UI = {
    "date": ("Date", "Time"),
    "isoYearIsoWeek": ("ISO week of ISO year", "Time"),
    "hostName": ("Hostname", "Page / screen"),
    "pagePath": ("Page path", "Page / screen"),
    "pageTitle": ("Page title", "Page / screen"),
    "contentGroup": ("Content group", "Page / screen"),
    "customEvent:article_section": ("Article section", "Custom"),
    "customEvent:author": ("Author", "Custom"),
    "sessionSource": ("Session source", "Traffic source"),
    "sessionMedium": ("Session medium", "Traffic source"),
    "sessionCampaignName": ("Session campaign", "Traffic source"),
    "screenPageViews": ("Views", "Page / screen"),
    "activeUsers": ("Active users", "User"),
    "totalUsers": ("Total users", "User"),
    "sessions": ("Sessions", "Session"),
    "engagedSessions": ("Engaged sessions", "Session"),
    "userEngagementDuration": ("User engagement", "User"),
    "keyEvents": ("Key events", "Event"),
    "eventCount": ("Event count", "Event"),
}


@dataclass
class QuotaLimits:
    """A standard property's Data API quotas (core reports)."""

    tokens_per_day: int = 200_000
    tokens_per_hour: int = 40_000
    tokens_per_project_per_hour: int = 14_000
    concurrent_requests: int = 10
    server_errors_per_project_per_hour: int = 10
    potentially_thresholded_requests_per_hour: int = 120


@dataclass
class QuotaState:
    """Tokens used, by (property, day) and (property, day, hour); the sandbox's hour is
    `hour`, moved on by tests (the real one is the wall clock's)."""

    hour: int = 0
    day_used: Counter = field(default_factory=Counter)
    hour_used: Counter = field(default_factory=Counter)
    project_hour_used: Counter = field(default_factory=Counter)
    thresholded_hour: Counter = field(default_factory=Counter)
    in_flight: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        """Every quota refilled (a new day, as far as the sandbox is concerned)."""
        for counter in (
            self.day_used,
            self.hour_used,
            self.project_hour_used,
            self.thresholded_hour,
        ):
            counter.clear()


def _bad(message: str) -> ApiError:
    return ApiError(400, "badRequest", message)


def _exhausted(what: str) -> ApiError:
    return ApiError(429, "rateLimitExceeded", f"Exhausted {what}.")


def _resolve_date(value: Any, clock: date) -> date:
    if not isinstance(value, str):
        raise _bad("dateRanges: startDate and endDate are required strings")
    if value == "today":
        return clock
    if value == "yesterday":
        return clock - timedelta(days=1)
    ago = _DAYS_AGO.match(value)
    if ago:
        return clock - timedelta(days=int(ago.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(
            f"Invalid date: {value!r}; use YYYY-MM-DD, NdaysAgo, yesterday or today"
        ) from None


def _int64(body: dict, name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(f"Invalid value at '{name}' (TYPE_INT64), \"{value}\"") from None
    if number < 0:
        raise _bad(f"{name} must be non-negative; got {number}")
    return number


def _names(body: dict, field_name: str, known: set[str], kind: str) -> list[str]:
    items = body.get(field_name) or []
    if not isinstance(items, list):
        raise _bad(f"{field_name} must be a list")
    names = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _bad(f"{field_name}: every entry needs a name")
        if item["name"] not in known:
            raise _bad(
                f"Field {item['name']} is not a valid {kind}. For a list of valid dimensions "
                "and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )
        names.append(item["name"])
    if len(set(names)) != len(names):
        raise _bad(f"{field_name}: a {kind} is listed twice")
    return names


def _quota_status(consumed: int, remaining: int) -> dict[str, int]:
    status = {}
    if consumed:
        status["consumed"] = consumed
    if remaining:
        status["remaining"] = max(remaining, 0)
    return status


class Ga4Api:
    """The request handlers; `clock` is the sandbox's today."""

    def __init__(
        self,
        portfolio: Ga4Portfolio,
        sampling_limit_events: int = 10_000_000,
        limits: QuotaLimits | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.sampling_limit_events = sampling_limit_events
        self.limits = limits or QuotaLimits()
        self.quota = QuotaState()
        self._lock = threading.Lock()
        # paged queries repeat with another offset: keep the last few serialised results
        self._cache: OrderedDict[tuple, tuple[list[str], dict[str, Any]]] = OrderedDict()
        self._events: dict[tuple[str, date], dict[date, int]] = {}
        self.bodies: deque[dict[str, Any]] = deque(maxlen=500)  # the newest request bodies

    def set_quota(self, reset: bool = False, **limits: int) -> QuotaLimits:
        """Change quota sizes (QuotaLimits field names); `reset` refills every quota."""
        with self._lock:
            unknown = sorted(set(limits) - set(QuotaLimits.__dataclass_fields__))
            if unknown:
                raise TypeError(f"unknown quota {unknown[0]!r}")
            for name, value in limits.items():
                setattr(self.limits, name, int(value))
            if reset:
                self.quota.reset()
            return self.limits

    # -- routing -----------------------------------------------------------------------
    def handle(self, method: str, path: str, body: bytes, clock: date) -> bytes:
        match = _RUN_REPORT.match(path)
        if match and method == "POST":
            return self.run_report(match.group(1), body, clock)
        match = _METADATA.match(path)
        if match and method == "GET":
            return json.dumps(self.metadata(match.group(1))).encode()
        raise ApiError(404, "notFound", f"Not found: {method} {path}")

    def _property(self, property_id: str):
        prop = self.portfolio.property(property_id)
        if prop is None:
            raise ApiError(
                403,
                "forbidden",
                "User does not have sufficient permissions for this property. To learn more "
                "about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
            )
        return prop

    # -- getMetadata -------------------------------------------------------------------
    def metadata(self, property_id: str) -> dict[str, Any]:
        self._property(property_id)

        def item(name: str) -> dict[str, Any]:
            ui, category = _UI[name]
            out = {"apiName": name, "uiName": ui, "description": f"{ui}.", "category": category}
            if name.startswith("customEvent:"):
                out["customDefinition"] = True
            return out

        return {
            "name": f"properties/{property_id}/metadata",
            "dimensions": [item(d) for d in DIMENSIONS],
            "metrics": [item(m) | {"type": t} for m, t in METRICS.items()],
        }

    # -- runReport ---------------------------------------------------------------------
    def run_report(self, property_id: str, raw: bytes, clock: date) -> bytes:
        prop = self._property(property_id)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise _bad("Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise _bad("Invalid JSON payload received.")
        self.bodies.append(body)
        unknown = sorted(set(body) - REQUEST_FIELDS)
        if unknown:
            raise _bad(
                f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
            )
        for unsupported in ("dimensionFilter", "metricFilter", "cohortSpec", "comparisons"):
            if unsupported in body:
                raise ApiError(501, "notImplemented", f"The sandbox does not serve {unsupported}.")
        dims = _names(body, "dimensions", set(DIMENSIONS), "dimension")
        metrics = _names(body, "metrics", set(METRICS), "metric")
        if not metrics and not dims:
            raise _bad("A report needs at least one dimension or metric.")
        if len(dims) > 9 or len(metrics) > 10:
            raise _bad("Requests are limited to 9 dimensions and 10 metrics.")
        ranges = body.get("dateRanges") or []
        if len(ranges) != 1 or not isinstance(ranges[0], dict):
            raise _bad("The sandbox serves exactly one dateRange per request.")
        start = _resolve_date(ranges[0].get("startDate"), clock)
        end = _resolve_date(ranges[0].get("endDate"), clock)
        if end < start:
            raise _bad("dateRanges: endDate is before startDate.")
        offset = _int64(body, "offset", 0)
        limit = min(_int64(body, "limit", PAGE_DEFAULT) or PAGE_DEFAULT, PAGE_MAX)
        order = self._order(body.get("orderBys") or [], dims, metrics)
        user_metrics = bool(USER_METRICS & set(metrics))
        thresholdable = prop.spec.signals and user_metrics

        with self._lock:
            self._admit(property_id, clock, thresholdable)
        try:
            rows, extra = self._result(prop, dims, metrics, start, end, clock, order)
            page = rows[offset : offset + limit]
            tokens = 1 + len(page) // 10_000
            with self._lock:
                quota = self._charge(property_id, clock, tokens)
        finally:
            with self._lock:
                self.quota.in_flight[property_id] -= 1
        parts = [
            '"dimensionHeaders":' + json.dumps([{"name": d} for d in dims]),
            '"metricHeaders":' + json.dumps([{"name": m, "type": METRICS[m]} for m in metrics]),
        ]
        if page:
            parts.append('"rows":[' + ",".join(page) + "]")
        if rows:
            parts.append(f'"rowCount":{len(rows)}')
        parts.append(
            '"metadata":'
            + json.dumps(extra | {"currencyCode": "USD", "timeZone": prop.spec.timezone})
        )
        if body.get("returnPropertyQuota"):
            parts.append('"propertyQuota":' + json.dumps(quota))
        parts.append('"kind":"analyticsData#runReport"')
        return ("{" + ",".join(parts) + "}").encode()

    def _order(self, order_bys: list, dims: list[str], metrics: list[str]) -> tuple:
        out = []
        for spec in order_bys:
            if not isinstance(spec, dict):
                raise _bad("orderBys: every entry must be an object")
            desc = bool(spec.get("desc", False))
            if "dimension" in spec:
                name = (spec["dimension"] or {}).get("dimensionName")
                if name not in dims:
                    raise _bad(f"orderBys: dimension {name!r} is not in the request")
                out.append(("d", dims.index(name), desc))
            elif "metric" in spec:
                name = (spec["metric"] or {}).get("metricName")
                if name not in metrics:
                    raise _bad(f"orderBys: metric {name!r} is not in the request")
                out.append(("m", metrics.index(name), desc))
            else:
                raise _bad("orderBys: each entry orders by a dimension or a metric")
        if not out and metrics:  # GA4's default: the first metric, largest first
            out.append(("m", 0, True))
        return tuple(out)

    def _admit(self, property_id: str, clock: date, thresholdable: bool) -> None:
        q, lim = self.quota, self.limits
        hour = (clock, q.hour)
        if q.day_used[(property_id, clock)] >= lim.tokens_per_day:
            raise _exhausted("property tokens per day")
        if q.hour_used[(property_id, hour)] >= lim.tokens_per_hour:
            raise _exhausted("property tokens per hour")
        if q.project_hour_used[hour] >= lim.tokens_per_project_per_hour:
            raise _exhausted("property tokens for a project per hour")
        if q.in_flight[property_id] >= lim.concurrent_requests:
            raise _exhausted("concurrent requests quota")
        if thresholdable:
            if (
                q.thresholded_hour[(property_id, hour)]
                >= lim.potentially_thresholded_requests_per_hour
            ):
                raise _exhausted("potentially thresholded requests per hour quota")
            q.thresholded_hour[(property_id, hour)] += 1
        q.in_flight[property_id] += 1

    def _charge(self, property_id: str, clock: date, tokens: int) -> dict[str, Any]:
        q, lim = self.quota, self.limits
        hour = (clock, q.hour)
        q.day_used[(property_id, clock)] += tokens
        q.hour_used[(property_id, hour)] += tokens
        q.project_hour_used[hour] += tokens
        return {
            "tokensPerDay": _quota_status(
                tokens, lim.tokens_per_day - q.day_used[(property_id, clock)]
            ),
            "tokensPerHour": _quota_status(
                tokens, lim.tokens_per_hour - q.hour_used[(property_id, hour)]
            ),
            "concurrentRequests": _quota_status(
                0, lim.concurrent_requests - q.in_flight[property_id] + 1
            ),
            "serverErrorsPerProjectPerHour": _quota_status(
                0, lim.server_errors_per_project_per_hour
            ),
            "potentiallyThresholdedRequestsPerHour": _quota_status(
                0,
                lim.potentially_thresholded_requests_per_hour
                - q.thresholded_hour[(property_id, hour)],
            ),
            "tokensPerProjectPerHour": _quota_status(
                tokens, lim.tokens_per_project_per_hour - q.project_hour_used[hour]
            ),
        }

    def events_in(self, property_id: str, start: date, end: date, clock: date) -> int:
        with self._lock:
            daily = self._events.get((property_id, clock))
        if daily is None:
            daily = self.portfolio.daily_events(property_id, clock)
            with self._lock:
                self._events[(property_id, clock)] = daily
        return sum(n for day, n in daily.items() if start <= day <= end)

    def _result(self, prop, dims, metrics, start, end, clock, order) -> tuple[list[str], dict]:
        """Every row of the query serialised (cached for the next pages), and the flags."""
        # reports by time alone come from daily aggregates and are never sampled
        sampled_events = 0
        if set(dims) - {"date", "isoYearIsoWeek"}:
            events = self.events_in(prop.property_id, start, end, clock)
            if events > self.sampling_limit_events:
                sampled_events = events
        key = (
            prop.property_id,
            tuple(dims),
            tuple(metrics),
            start,
            end,
            clock,
            order,
            sampled_events,
        )
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        report = self.portfolio.report(prop.property_id, dims, metrics, start, end, clock)
        rows = report.rows
        extra: dict[str, Any] = {}
        if sampled_events:
            limit = self.sampling_limit_events
            per_mille = max(1, 1000 * limit // sampled_events)
            scale = 1000 / per_mille
            rows = [
                (k, tuple(round(v * scale) for v in values))
                for k, values in rows
                if _token("sample", *k) % 1000 < per_mille
            ]
            extra["samplingMetadatas"] = [
                {"samplesReadCount": str(limit), "samplingSpaceSize": str(sampled_events)}
            ]
        if report.other_days:
            extra["dataLossFromOtherRow"] = True
        if report.thresholded:
            extra["subjectToThresholding"] = True
        for kind, index, desc in reversed(order):
            if kind == "d":
                rows.sort(key=lambda r, i=index: r[0][i], reverse=desc)
            else:
                rows.sort(key=lambda r, i=index: r[1][i], reverse=desc)
        dumps = json.dumps
        serialised = [
            '{"dimensionValues":['
            + ",".join('{"value":' + dumps(v, ensure_ascii=False) + "}" for v in k)
            + '],"metricValues":['
            + ",".join('{"value":"' + str(int(v)) + '"}' for v in values)
            + "]}"
            for k, values in rows
        ]
        result = (serialised, extra)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 4:
                self._cache.popitem(last=False)
        return result
