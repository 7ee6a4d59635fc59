"""The one client of Meta's Graph API that the Instagram and Facebook connectors share.

Every call goes through `GraphClient.get`, which:
- sends the access token in the `Authorization` header, never in the URL, so that no URL,
  log line or `requests` exception can carry it (a `paging.next` URL that does carry one is
  scrubbed before it is followed or shown);
- paces itself on the usage Meta reports on every response (`X-App-Usage`,
  `X-Business-Use-Case-Usage`, in percent of the limit): it sleeps `slow_down_s` before a
  call once usage reaches `slow_down_at`, and a response at `stop_at` stops the run cleanly
  (`GraphThrottled`, a QuotaStop: no request after it), before Meta blocks the app for up
  to an hour;
- retries what is transient (429, 5xx, timeouts, malformed or truncated JSON, Graph codes
  1/2 and `is_transient`) through `connectors.retry`;
- turns Graph's throttling codes (4, 17, 32, 613, 80001, 80002) into `GraphThrottled`, and
  stops the run's other requests with it (`Throttle.halt`; the next run resumes: the landed
  snapshots are the state), code 190 into a one-line
  CredentialsError, and every other Graph error into `GraphError` for the caller to judge
  (100 about a metric: drop that metric; 10: not enough viewers, recorded).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pyarrow as pa
import requests

from connectors import social
from connectors.quota import Budget, QuotaStop, Throttle
from connectors.retry import GaveUp, Retry, RetryPolicy, with_retries
from connectors.social import GraphSource
from contentpulse.config import Account
from contentpulse.credentials import Connection, Secret
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.streams import CallLog, ExtractResult, Window, one_line

log = logging.getLogger(__name__)
logging.getLogger("urllib3").setLevel(logging.WARNING)

GRAPH_URL = "https://graph.facebook.com"
GRAPH_CALLS = "graph_calls"  # the per-run budget every Graph call draws on
# app (4), user (17), Page (32) and hourly (613) limits; Business Use Case limits of Pages
# (80001) and Instagram (80002)
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
TRANSIENT_CODES = frozenset({1, 2})  # "unknown error", "service temporarily unavailable"
TOKEN_CODE = 190
NOT_ENOUGH_VIEWERS = 10
INVALID_PARAMETER = 100
OBJECT_GONE = 33  # error 100's subcode: the object does not exist (deleted since listed)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
sleep = time.sleep  # module-level, so tests can count the slow-downs without waiting
_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s\"']+")


def scrub(text: str) -> str:
    """`text` without any access token a URL in it may carry."""
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


class GraphThrottled(QuotaStop):
    """Meta throttles this app or account (or its usage is at `stop_at`): stop, resume next run."""


class GraphError(SourceError):
    """A Graph error the caller may handle (e.g. 100 about a metric, 10 not enough viewers)."""

    def __init__(self, what: str, status: int, code: int, subcode: int | None, message: str):
        super().__init__(f"{what}: Graph error {code}: {message} (HTTP {status})")
        self.status, self.code, self.subcode, self.message = status, code, subcode, message


def budget(source: GraphSource) -> Budget:
    """The per-run budget: every Graph call counts one."""
    return Budget({GRAPH_CALLS: source.budget_calls})


def max_usage_percent(headers: Any) -> float | None:
    """The highest usage percent in `X-App-Usage` and `X-Business-Use-Case-Usage`; None if absent.

    X-App-Usage: {"call_count": 28, "total_time": 25, "total_cputime": 25};
    X-Business-Use-Case-Usage: {"<object id>": [{"type": ..., "call_count": ..., ...}]}.
    """
    found: list[float] = []

    def percents(entry: Any) -> None:
        if isinstance(entry, dict):
            for key in ("call_count", "total_time", "total_cputime"):
                value = entry.get(key)
                if isinstance(value, int | float):
                    found.append(float(value))

    for name in ("X-App-Usage", "X-Business-Use-Case-Usage"):
        text = headers.get(name)
        if not text:
            continue
        try:
            usage = json.loads(text)
        except ValueError:
            log.warning("unreadable %s header ignored", name)
            continue
        if name == "X-App-Usage":
            percents(usage)
        elif isinstance(usage, dict):
            for entries in usage.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    percents(entry)
    return max(found) if found else None


@dataclass(frozen=True)
class GraphResponse:
    body: dict[str, Any]
    date: str | None  # the server's HTTP Date: which reporting day a lifetime read is for


class GraphClient:
    """One account's Graph session: authorised, paced, retried, counted."""

    def __init__(
        self,
        platform: str,
        account_id: str,
        conn: Connection,
        source: GraphSource,
        throttle: Throttle | None = None,
    ) -> None:
        self.platform, self.account_id, self.source = platform, account_id, source
        self.what = f"{platform} {account_id}"
        self._token: Secret = conn.secret("access_token")
        self.base = f"{source.base_url or GRAPH_URL}/{source.api_version}"
        self.policy = RetryPolicy(max_attempts=source.max_attempts)
        self.throttle = throttle or Throttle()
        self.calls = CallLog()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self._token.reveal()}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ---------------------------------------------------------------------------
    def get(
        self, path: str, params: dict[str, Any] | None = None, label: str = ""
    ) -> GraphResponse:
        """GET `path` (relative to the versioned base, or an absolute `paging.next` URL)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base}/{path}"
        url = self._own_url(url)
        label = label or path.split("?")[0]
        what = f"{self.what}: {label}"

        def attempt() -> GraphResponse:
            self.throttle.before_call(GRAPH_CALLS, 1, what)
            self._pace(what)
            self.calls.record(label, 1)
            try:
                response = self.session.get(url, params=params, timeout=self.source.timeout_s)
            except requests.RequestException as err:  # its text may hold the URL: not shown
                raise Retry(f"{type(err).__name__} (network)") from None
            usage = max_usage_percent(response.headers)
            if usage is not None:
                self.throttle.usage[self.what] = usage
            try:
                body = self._json(response)
                if isinstance(body, dict) and isinstance(body.get("error"), dict):
                    self._raise(what, response.status_code, body["error"], response.headers)
                if response.status_code in RETRY_STATUSES:
                    raise Retry(f"HTTP {response.status_code}", _retry_after(response.headers))
                if response.status_code != 200 or not isinstance(body, dict):
                    raise SourceError(f"{what}: unexpected HTTP {response.status_code} response")
                return GraphResponse(body, response.headers.get("Date"))
            finally:
                # usage at stop_at stops the run's requests, whatever this answer was (a
                # throttling code in it is the stop already); its data, if any, still counts
                if usage is not None and usage >= self.source.stop_at:
                    self.throttle.halt(
                        GraphThrottled(
                            f"{what}: Graph API usage at {usage:g}% "
                            f"(stop_at {self.source.stop_at:g}%); the next run resumes from here"
                        )
                    )

        try:
            return with_retries(attempt, what, self.policy, on_retry=self._count_retry)
        except GaveUp as gave_up:
            raise SourceError(scrub(str(gave_up))) from None

    def pages(self, path: str, params: dict[str, Any], label: str = "") -> Iterator[GraphResponse]:
        """Every page of an edge, following the absolute `paging.next` until there is none."""
        response = self.get(path, params, label)
        yield response
        while next_url := (response.body.get("paging") or {}).get("next"):
            response = self.get(next_url, None, label or path)
            yield response

    # -- helpers -------------------------------------------------------------------------
    def _own_url(self, url: str) -> str:
        """Refuse to send the token anywhere but the configured host; drop a token in the URL
        (the header carries ours)."""
        parts, own = urlsplit(url), urlsplit(self.base)
        if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
            raise SourceError(f"{self.what}: paging.next points to another host ({parts.netloc})")
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"
        ]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _pace(self, what: str) -> None:
        """Slow down on the usage Meta reported with the last response (usage at `stop_at`
        has stopped the run's requests already)."""
        usage = self.throttle.usage.get(self.what)
        if usage is None:
            return
        if usage >= self.source.slow_down_at and self.source.slow_down_s:
            log.info(
                "%s: Graph API usage at %g%%, slowing down %.1f s",
                what,
                usage,
                self.source.slow_down_s,
            )
            sleep(self.source.slow_down_s)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            if response.status_code >= 500 or response.status_code == 429:
                return None  # an HTML error page: retried on its status
            raise Retry("malformed response body (not JSON)") from None

    def _raise(self, what: str, status: int, error: dict, headers: Any) -> None:
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        message = one_line(scrub(str(error.get("message", ""))), 300)
        if code in THROTTLE_CODES:
            raise self.throttle.halt(
                GraphThrottled(
                    f"{what}: throttled by Meta (Graph error {code}: {message}); "
                    "the next run resumes from here"
                )
            )
        if code == TOKEN_CODE:
            raise CredentialsError(
                f"{what}: access token rejected (Graph error 190"
                f"{f', subcode {subcode}' if subcode else ''}); renew the connection's access_token"
            )
        if status in RETRY_STATUSES or code in TRANSIENT_CODES or error.get("is_transient"):
            raise Retry(f"HTTP {status} Graph error {code}", _retry_after(headers))
        raise GraphError(what, status, code or 0, subcode, message)

    def _count_retry(self) -> None:
        self.calls.retries += 1


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


# -- insights: the metric registry and reading one object's insights ----------------------
@dataclass(frozen=True)
class Metric:
    """One insights metric: the product types it exists for, and when it lived.

    Meta retires metrics by date (a retired name fails the whole request), and supports
    them per media product type: the registry lets the connector drop a name before asking.
    """

    name: str
    product_types: frozenset[str]
    valid_from: date | None = None
    retired_on: date | None = None
    replaced_by: str | None = None
    default: bool = True  # asked for when the config names no metrics for the type

    def retired(self, today: date) -> bool:
        return self.retired_on is not None and today >= self.retired_on


def metric(
    name: str,
    *types: str,
    valid_from: str | None = None,
    retired_on: str | None = None,
    replaced_by: str | None = None,
    default: bool = True,
) -> Metric:
    return Metric(
        name,
        frozenset(types),
        date.fromisoformat(valid_from) if valid_from else None,
        date.fromisoformat(retired_on) if retired_on else None,
        replaced_by,
        default and retired_on is None,
    )


EMPTY_INSIGHT = "the insights response held no value for it"


@dataclass(frozen=True)
class Issue:
    """A metric missing for one object: code 'retired', 'unsupported', '100' (refused by
    the API), '10' (not enough viewers) or 'empty' (answered, with no value); or the object
    itself gone: code 'gone', metric '*' (error 100, subcode 33: deleted since it was listed)."""

    metric: str
    code: str
    message: str


def plan_metrics(
    registry: dict[str, Metric],
    configured: dict[str, list[str]] | None,
    product_type: str,
    today: date,
) -> tuple[list[str], list[Issue]]:
    """The metrics to ask for one product type, and the configured names dropped before asking."""
    if configured is not None and product_type in configured:
        names = list(dict.fromkeys(configured[product_type]))
    else:
        names = [
            m.name
            for m in registry.values()
            if m.default and product_type in m.product_types and not m.retired(today)
        ]
    keep, issues = [], []
    for name in names:
        known = registry.get(name)
        if known is not None and known.retired(today):
            instead = f"; use {known.replaced_by}" if known.replaced_by else ""
            issues.append(Issue(name, "retired", f"retired on {known.retired_on}{instead}"))
        elif known is not None and product_type not in known.product_types:
            issues.append(Issue(name, "unsupported", f"not available for {product_type} media"))
        elif known is not None and known.valid_from and today < known.valid_from:
            issues.append(Issue(name, "unsupported", f"available from {known.valid_from}"))
        else:
            keep.append(name)  # unknown names are the API's to judge
    return keep, issues


_INDEXED = re.compile(r"metric\[(\d+)\]")
_NAMED = re.compile(r"\b([a-z0-9_]+) metric\b")


def refused_metric(message: str, asked: list[str]) -> str | None:
    """The one metric a Graph error 100 is about, when its message tells which."""
    indexed = _INDEXED.search(message)
    if indexed and int(indexed.group(1)) < len(asked):
        return asked[int(indexed.group(1))]
    named = {m for m in _NAMED.findall(message) if m in asked}
    return named.pop() if len(named) == 1 else None


def _value(entry: dict) -> int | None:
    """A lifetime metric's value; None for an empty `values` (unavailable, not zero)."""
    values = entry.get("values")
    if values:
        value = values[0].get("value")
    elif isinstance(entry.get("total_value"), dict):
        value = entry["total_value"].get("value")
    else:
        return None
    return int(value) if isinstance(value, int | float) else None


def insight_values(body: Any, asked: list[str], what: str) -> dict[str, int | None]:
    """The values of the `asked` metrics in one insights response (None where empty); a
    body of another shape is one SourceError line."""
    entries = (body.get("data") or []) if isinstance(body, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("values") or [], list)
        and all(isinstance(v, dict) for v in e.get("values") or [])
        for e in entries
    ):
        raise SourceError(f"{what}: malformed insights response (no list of metric objects)")
    return {e["name"]: _value(e) for e in entries if e.get("name") in asked}


def read_insights(
    client: GraphClient, object_id: str, metrics: list[str], label: str
) -> tuple[dict[str, int | None], list[Issue]]:
    """One object's lifetime insights. A metric the API refuses (error 100) is dropped alone
    and the call repeated without it; error 10 (not enough viewers) is recorded for every
    metric asked; an object that no longer exists (error 100, subcode 33) is one 'gone'
    issue. Empty `data` or `values` stay None, never 0, and are recorded as 'empty'
    (Meta gives no insights for posts from before the account turned business or creator,
    some carousel albums, expired stories and some Facebook post types)."""
    values: dict[str, int | None] = {}
    issues: list[Issue] = []
    asked = list(metrics)
    alone = False  # after an error 100 that names no metric: ask one metric a call
    while asked:
        batch = asked[:1] if alone else asked
        try:
            body = client.get(f"{object_id}/insights", {"metric": ",".join(batch)}, label).body
        except GraphError as err:
            if err.code == NOT_ENOUGH_VIEWERS:
                return values, issues + [Issue(m, "10", err.message) for m in asked]
            if err.code != INVALID_PARAMETER:
                raise
            if err.subcode == OBJECT_GONE:  # deleted since the listing: a tombstone
                return values, [*issues, Issue("*", "gone", err.message)]
            if "metric" not in err.message.lower():  # about the object, not a metric
                return values, issues + [Issue(m, "100", err.message) for m in asked]
            refused = batch[0] if len(batch) == 1 else refused_metric(err.message, batch)
            if refused is None:
                alone = True
                continue
            log.warning(
                "%s %s: metric %s refused, dropped: %s",
                client.what,
                object_id,
                refused,
                err.message,
            )
            issues.append(Issue(refused, "100", err.message))
            asked.remove(refused)
            continue
        values.update(insight_values(body, batch, f"{client.what} {object_id}/insights"))
        issues += [Issue(m, "empty", EMPTY_INSIGHT) for m in batch if values.get(m) is None]
        asked = [m for m in asked if m not in batch]
    return values, issues


# -- what both Graph connectors do with posts and days ------------------------------------
def published(value: str) -> datetime:
    """Graph timestamps: `2026-11-20T13:05:00+0000`."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def count(value: object) -> int | None:
    """A counter as Graph returns it: a number, or None when the field is absent."""
    return int(value) if isinstance(value, int | float) else None


@dataclass
class GraphPost:
    """A post due for a snapshot: what its listing said, carried into its unit of work."""

    item_id: str
    product_type: str
    published: date  # in the account's time zone (the re-poll ages count from it)
    snapshot_date: date
    counters: dict[str, int | None]  # lifetime counters read with the listing (likes...)


@dataclass
class Listing:
    """What one listing call sequence read of an account: its items (content_items rows) with
    the counters read beside each, its days' insights, its snapshot's own columns."""

    today: date  # the snapshot date, in the account's time zone
    items: list[dict]
    counters: list[dict[str, int | None]]
    days: dict[date, dict[str, int | None]]
    snapshot: dict[str, object]
    calls: CallLog
    extracted_at: datetime
    run_id: str


def read_snapshots(
    client: GraphClient,
    posts: list[GraphPost],
    registry: dict[str, Metric],
    configured: dict[str, list[str]] | None,
    columns: list[str],
    label: str,
) -> tuple[list[dict], list[dict]]:
    """content_snapshots rows (native metric names; None where nothing came) and
    insight_issues rows for `posts`, one insights call per post (more if one is refused)."""
    rows, issue_rows = [], []
    planned: dict[tuple[str, date], tuple[list[str], list[Issue]]] = {}
    for post in posts:
        key = (post.product_type, post.snapshot_date)
        if key not in planned:
            planned[key] = plan_metrics(registry, configured, post.product_type, post.snapshot_date)
            for issue in planned[key][1]:
                log.warning(
                    "%s: %s metric %s dropped before asking: %s",
                    client.what,
                    post.product_type,
                    issue.metric,
                    issue.message,
                )
        metrics, issues = planned[key]
        values, refused = (
            read_insights(client, post.item_id, metrics, label) if metrics else ({}, [])
        )
        gone = any(issue.code == "gone" for issue in refused)
        if gone:
            log.info("%s: post %s is gone (deleted since it was listed)", client.what, post.item_id)
        unknown = sorted(set(values) - set(columns))
        if unknown:
            log.warning("%s: metrics %s have no landing column; not landed", client.what, unknown)
        row = {"item_id": post.item_id, "snapshot_date": post.snapshot_date}
        row["product_type"] = post.product_type
        row.update({c: None for c in columns})
        row.update({k: v for k, v in post.counters.items() if k in columns})
        row.update({k: v for k, v in values.items() if k in columns})
        if not gone:  # a gone post lands its tombstone (an issue), no snapshot of NULLs
            rows.append(row)
        for issue in issues + refused:
            issue_rows.append(
                {
                    "item_id": post.item_id,
                    "snapshot_date": post.snapshot_date,
                    "metric": issue.metric,
                    "code": issue.code,
                    "message": issue.message,
                }
            )
    return rows, issue_rows


def day_insights(
    client: GraphClient,
    object_id: str,
    metrics: tuple[str, ...],
    start: date,
    end: date,
    max_days: int,
    label: str,
) -> dict[date, dict[str, int | None]]:
    """Daily account insights (period=day) for [start, end], at most `max_days` a call.

    A value's `end_time` is the end of its day (midnight Pacific, e.g. 07:00 UTC of the next
    day), so its reporting date is the day before `end_time`'s date.
    """
    out: dict[date, dict[str, int | None]] = {}
    day = start
    while day <= end:
        last = min(end, day + timedelta(days=max_days - 1))
        params = {
            "metric": ",".join(metrics),
            "period": "day",
            "since": day.isoformat(),
            "until": (last + timedelta(days=1)).isoformat(),
        }
        # one call per range: an insights `paging.next` walks on to further time ranges
        page = client.get(f"{object_id}/insights", params, label)
        for entry in page.body.get("data") or []:
            name = entry.get("name")
            if name not in metrics:
                continue
            for point in entry.get("values") or []:
                end_time = str(point.get("end_time", ""))[:10]
                if not end_time:
                    continue
                when = date.fromisoformat(end_time) - timedelta(days=1)
                value = point.get("value")
                if day <= when <= last:
                    out.setdefault(when, dict.fromkeys(metrics))[name] = (
                        int(value) if isinstance(value, int | float) else None
                    )
        day = last + timedelta(days=1)
    return out


def day_totals(
    client: GraphClient,
    object_id: str,
    metrics: tuple[str, ...],
    start: date,
    end: date,
    label: str,
) -> dict[date, dict[str, int | None]]:
    """Account metrics Meta serves only as one total over a range (metric_type=total_value,
    e.g. Instagram's account views), read one day a call: since=day, until=day+1. A day
    whose data comes back empty (unavailable, not zero) is left out."""
    out: dict[date, dict[str, int | None]] = {}
    day = start
    while day <= end:
        params = {
            "metric": ",".join(metrics),
            "metric_type": "total_value",
            "period": "day",
            "since": day.isoformat(),
            "until": (day + timedelta(days=1)).isoformat(),
        }
        body = client.get(f"{object_id}/insights", params, label).body
        values = insight_values(body, list(metrics), f"{client.what} {label} of {day}")
        if values:
            out[day] = dict.fromkeys(metrics) | values
        day += timedelta(days=1)
    return out


def days_with_data(
    client: GraphClient,
    window: Window,
    first_post: date | None,
    today: date,
    earliest: date | None = None,
) -> tuple[date, date] | None:
    """The first and last day of `window` inside the account's data: from its first post's
    day (and `earliest`, the oldest day the platform keeps) to `today`, the day its counters
    are complete through. Graph answers a day before an account had anything to show with
    zeros, which would read as a measured day of nothing: those days are never asked. None,
    said in one line, when no day of the window is inside."""
    start = max(d for d in (window.start, first_post, earliest) if d is not None)
    end = min(window.end, today)
    if first_post is None or start > end:
        span = f"{max(first_post, earliest or first_post)} to {today}" if first_post else "no posts"
        log.warning(
            "%s: %s is outside the account's data (%s): no account days landed",
            client.what,
            window,
            span,
        )
        return None
    return start, end


def due_posts(
    posts: list[GraphPost], state: dict[str, date] | None, source: GraphSource
) -> list[GraphPost]:
    """The posts whose lifetime counters are read this run (the age-based re-poll plan)."""
    state = state or {}
    return [
        p
        for p in posts
        if social.due(
            p.published,
            state.get(p.item_id),
            p.snapshot_date,
            source.repoll.daily_until,
            source.repoll.ages,
        )
    ]


def extract_snapshots(
    settings: ModuleType,
    account: Account,
    chunk: Window,
    batch: list[GraphPost],
    source: GraphSource,
    conn: Connection,
    run_id: str,
    throttle: Throttle | None = None,
) -> ExtractResult:
    """One unit of posts: their snapshots and refused metrics, and the extract_log row that
    says the unit finished. A throttling stop raises before anything of the unit lands."""
    extracted_at = datetime.now(UTC)
    with GraphClient(settings.PLATFORM, account.id, conn, source, throttle) as client:
        rows, issue_rows = read_snapshots(
            client,
            batch,
            settings.REGISTRY,
            source.metrics,
            list(settings.SNAPSHOT_COLUMNS),
            "insights",
        )
    for row in rows + issue_rows:
        row.update(account_id=account.id, extracted_at=extracted_at, run_id=run_id)
    schemas = settings.SCHEMAS
    tables = {
        "content_snapshots": pa.Table.from_pylist(rows, schema=schemas["content_snapshots"]),
        "insight_issues": pa.Table.from_pylist(issue_rows, schema=schemas["insight_issues"]),
    }
    snapshot_day = max((p.snapshot_date for p in batch), default=None)
    log_row = {
        "account_id": account.id,
        "window_start": chunk.start,
        "window_end": chunk.end,
        "snapshot_date": snapshot_day,
        "last_date_returned": snapshot_day if rows else None,
        "items_due": len(batch),
        "items_read": len(rows),
        "calls": client.calls.calls,
        "retries": client.calls.retries,
        "rows": len(rows) + len(issue_rows),
        "extracted_at": extracted_at,
        "run_id": run_id,
    }
    tables["extract_log"] = pa.Table.from_pylist([log_row], schema=schemas["extract_log"])
    log.info(
        "%s %s: %d snapshots, %d insight issues, %d calls",
        settings.PLATFORM,
        account.id,
        len(rows),
        len(issue_rows),
        client.calls.calls,
    )
    return ExtractResult(settings.PLATFORM, account.id, chunk, tables, client.calls, snapshot_day)


def listing_result(
    settings: ModuleType,
    account: Account,
    window: Window,
    listing: Listing,
    source: GraphSource,
    state: dict[str, date] | None,
) -> tuple[ExtractResult, list[list[GraphPost]]]:
    """What an account's listing lands (its items, its days, its snapshot), and the posts due
    for a snapshot (the age-based re-poll plan over `state`, the newest landed reads), in
    batches."""
    zone = ZoneInfo(account.timezone)
    posts = [
        GraphPost(
            row["item_id"],
            row["product_type"],
            row["published_at"].astimezone(zone).date(),
            listing.today,
            counters,
        )
        for row, counters in zip(listing.items, listing.counters, strict=True)
    ]
    due = due_posts(posts, state, source)
    daily = [{"account_id": account.id, "date": d, **v} for d, v in sorted(listing.days.items())]
    snapshot = {"account_id": account.id, "snapshot_date": listing.today, **listing.snapshot}
    for row in [*listing.items, *daily, snapshot]:
        row.update(extracted_at=listing.extracted_at, run_id=listing.run_id)
    schemas = settings.SCHEMAS
    tables = {
        "content_items": pa.Table.from_pylist(listing.items, schema=schemas["content_items"]),
        "account_daily": pa.Table.from_pylist(daily, schema=schemas["account_daily"]),
        "account_snapshots": pa.Table.from_pylist([snapshot], schema=schemas["account_snapshots"]),
    }
    log.info(
        "%s %s: %d items, %d due for a snapshot of %s, %d calls",
        settings.PLATFORM,
        account.id,
        len(listing.items),
        len(due),
        listing.today,
        listing.calls.calls,
    )
    last = max(listing.days, default=None)
    result = ExtractResult(settings.PLATFORM, account.id, window, tables, listing.calls, last)
    return result, social.batches(due, source.batch_size)
