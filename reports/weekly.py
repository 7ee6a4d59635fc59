"""The weekly strategy report: one self-contained HTML file per ISO week, plus an index.

Reads only the published snapshot (analytics.duckdb), never the working warehouse.
plotly.js is inlined once per page: the partial bundle `plotly.js-basic-dist-min` (scatter,
bar, pie) of the plotly.js version the Python plotly ships, vendored in `reports/vendor/`
with its license, so a week weighs about 1.4 MB instead of 5; nothing is fetched from
anywhere. Platform text
(titles) is untrusted: Jinja2 autoescapes it in HTML and it is escaped again before it
reaches chart hover labels.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from contentpulse.errors import ContentpulseError, naming
from contentpulse.tempfiles import sweep, temp_path
from contentpulse.warehouse import open_snapshot
from reports import charts
from reports.findings import SOURCE_NAMES, Findings
from reports.queries import query

HERE = Path(__file__).resolve().parent
PLOTLY_JS = HERE / "vendor" / "plotly-basic.min.js"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass
class WeekSummary:
    """What the mail and the chat message carry: the headline, the decisions, the KPIs."""

    week: str
    week_start: date
    week_end: date
    data_through: date
    headline: str | None
    supporting: list[str]
    decisions: list[str]
    tiles: list[dict]  # label, value, estimated, change, change_withheld (no sparkline)
    accounts: list[dict]  # per account: platform, account_name, views, change...


@dataclass
class ReportOutput:
    week: str
    path: Path
    rows: int
    summary: WeekSummary | None = None


def parse_week(week: str) -> tuple[date, date]:
    match = _WEEK.match(week)
    if not match:
        raise ContentpulseError(f"report: week {week!r} is not an ISO week like 2026-W47")
    try:
        start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ContentpulseError(f"report: week {week!r} does not exist") from None
    return start, start + timedelta(days=6)


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(data_through: date) -> str:
    """The newest ISO week whose Sunday the data reaches."""
    sunday = data_through - timedelta(days=(data_through.isoweekday() % 7))
    return week_of(sunday)


def _query(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> pd.DataFrame:
    return query(con, name, params)


def _pct(now: float, before: float) -> float | None:
    return None if not before else (now - before) / before * 100


def _write_atomic(path: Path, text: str) -> None:
    """Write beside, rename over: a reader never sees half a page. A failure (a full disk
    names `path`) or an interrupt leaves no temporary file."""
    tmp = temp_path(path)
    try:
        with naming(path):
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# a tile's figure, and the part of it that is estimated (None: nothing can be)
TILES = (
    ("views", "views_estimated", "Views", ",.0f"),
    ("watch_hours", "watch_hours_estimated", "Watch hours", ",.0f"),
    ("followers_net", None, "Net followers", "+,.0f"),
    ("posts", None, "Posts published", ",.0f"),
)


def _change(now: float, before: float | None, estimated: bool) -> float | None:
    """The change against the week before; None when either week is estimated in part."""
    if before is None or estimated or pd.isna(now) or pd.isna(before):
        return None
    return _pct(now, before)


def _tiles(weeks: pd.DataFrame, week_start: date) -> list[dict]:
    """Portfolio tiles: this week, the part of it estimated, the change against the week
    before (measured weeks only), an 8-week sparkline."""
    columns = [c for tile in TILES for c in tile[:2] if c]
    by_week = weeks.groupby("week_start")[columns].sum(min_count=1)
    by_week.index = pd.to_datetime(by_week.index).date
    if week_start not in by_week.index:
        return []
    now = by_week.loc[week_start]
    previous = week_start - timedelta(days=7)
    before = by_week.loc[previous] if previous in by_week.index else None
    tiles = []
    for column, estimated_column, label, fmt in TILES:
        estimated = _estimated(now, estimated_column)
        estimated_before = before is not None and _estimated(before, estimated_column) > 0
        tiles.append(
            {
                "label": label,
                "value": "—" if pd.isna(now[column]) else format(now[column], fmt),
                "estimated": estimated,
                "estimated_share": estimated / now[column] if estimated and now[column] else None,
                "change": _change(
                    now[column],
                    None if before is None else before[column],
                    estimated > 0 or estimated_before,
                ),
                "change_withheld": before is not None and (estimated > 0 or estimated_before),
                "spark": Markup(charts.sparkline(list(by_week[column].fillna(0)))),
            }
        )
    return tiles


def _estimated(row: pd.Series, column: str | None) -> float:
    if column is None or pd.isna(row[column]):
        return 0.0
    return float(row[column])


def _account_rows(weeks: pd.DataFrame, week_start: date) -> list[dict]:
    """Per platform and account: this week, the part estimated, the change (measured weeks
    only), and the 8-week sparkline of views."""
    rows = []
    for (platform, account), frame in weeks.groupby(["platform", "account_name"], sort=True):
        frame = frame.assign(week=pd.to_datetime(frame.week_start).dt.date).set_index("week")
        if week_start not in frame.index:
            continue
        now = frame.loc[week_start]
        prev_week = week_start - timedelta(days=7)
        prev = frame.loc[prev_week] if prev_week in frame.index else None
        estimated = _estimated(now, "views_estimated")
        estimated_before = prev is not None and _estimated(prev, "views_estimated") > 0
        rows.append(
            {
                "platform": platform,
                "account_name": account,
                "views": None if pd.isna(now.views) else int(now.views),
                "views_estimated": int(estimated),
                "change": _change(
                    now.views,
                    None if prev is None else prev.views,
                    estimated > 0 or estimated_before,
                ),
                "change_withheld": prev is not None and (estimated > 0 or estimated_before),
                "watch_hours": None if pd.isna(now.watch_hours) else now.watch_hours,
                "followers_net": None if pd.isna(now.followers_net) else now.followers_net,
                "posts": int(now.posts),
                "spark": Markup(charts.sparkline(list(frame.sort_index().views.fillna(0)))),
            }
        )
    return rows


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows for the template with every NULL (NaN, NaT, NA) as None, so that it renders
    as "—" and never as nan, NaT or None."""
    return [
        {key: (None if _missing(value) else value) for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays: present
        return False


def _reason(row: pd.Series) -> str:
    """Why a release did as it did, in a few words: format, peers, where its audience came from."""
    parts = [f"{row['format']}"]
    if isinstance(row.get("topic"), str) and row["topic"] != "untagged":
        parts.append(f"about {row['topic']}")
    if isinstance(row.get("top_source"), str):
        source = SOURCE_NAMES.get(row["top_source"], row["top_source"])
        parts.append(f"{row['top_source_share']:.0%} of views from {source}")
    if row.get("peer_group") == "platform_format":
        parts.append("compared across the portfolio (few account peers)")
    return ", ".join(parts)


def _summary(week: str, days: tuple[date, date, date], found, tiles, accounts) -> WeekSummary:
    def plain(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "spark"} for row in rows]

    return WeekSummary(
        week,
        *days,
        headline=found.headline.text if found.headline else None,
        supporting=[f.text for f in found.supporting],
        decisions=[d.text for d in found.decisions],
        tiles=plain(tiles),
        accounts=plain(accounts),
    )


def week_summary(snapshot: Path, week: str | None = None) -> WeekSummary:
    """The week's summary from the published snapshot, as its report shows it."""
    from reports.findings import findings as find

    with open_snapshot(snapshot) as con:
        data_through = _data_through(con, snapshot)
        week = week or last_complete_week(data_through)
        week_start, week_end = parse_week(week)
        weeks = _query(con, "kpi_weeks", week_start=week_start, week_end=week_end)
        found = find(con, week_start, week_end)
    return _summary(
        week,
        (week_start, week_end, data_through),
        found,
        _tiles(weeks, week_start),
        _account_rows(weeks, week_start),
    )


def _data_through(con: duckdb.DuckDBPyConnection, snapshot: Path) -> date:
    data_through = _query(con, "data_through")["data_through"].iloc[0]
    if pd.isna(data_through):
        raise ContentpulseError(f"report: {snapshot} holds no daily data yet")
    return pd.Timestamp(data_through).date()


# the report's queries (reports/sql/<name>.sql), each run for the week
WEEK_QUERIES = (
    "kpi_weeks",
    "daily_views",
    "new_releases",
    "release_bands",
    "recent_performance",
    "heatmap",
    "segments",
    "repurposing",
    "anomalies_week",
    "quality_week",
)


@dataclass
class _WeekData:
    """What a week's report reads from the snapshot."""

    week: str
    week_start: date
    week_end: date
    data_through: date
    frames: dict[str, pd.DataFrame]  # WEEK_QUERIES' results
    found: Findings
    check_notes: list[tuple]  # the warnings of the last check
    stale_sources: list[dict]


def build_report(snapshot: Path, out_dir: Path, week: str | None = None) -> ReportOutput:
    """Render the report for `week` (default: the last complete week in the data)."""
    with open_snapshot(snapshot) as con:
        data = _read_week(con, snapshot, week)
    tiles = _tiles(data.frames["kpi_weeks"], data.week_start)
    account_rows = _account_rows(data.frames["kpi_weeks"], data.week_start)
    env = environment()
    page = _render(env, data, tiles, account_rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep(out_dir)  # what a report killed mid-write left
    path = out_dir / f"weekly-{data.week}.html"
    _write_atomic(path, page)
    write_index(out_dir, env)
    days = (data.week_start, data.week_end, data.data_through)
    summary = _summary(data.week, days, data.found, tiles, account_rows)
    return ReportOutput(data.week, path, sum(len(f) for f in data.frames.values()), summary)


def _read_week(con: duckdb.DuckDBPyConnection, snapshot: Path, week: str | None) -> _WeekData:
    """The week's data (default: the last complete week; the current one while none is
    complete); a week outside the snapshot's data is one error line."""
    from reports.findings import findings as find

    span = _query(con, "data_through").iloc[0]
    if pd.isna(span["data_through"]):
        raise ContentpulseError(f"report: {snapshot} holds no daily data yet")
    data_from = pd.Timestamp(span["data_from"]).date()
    data_through = pd.Timestamp(span["data_through"]).date()
    if week is None:  # the last complete week; the current one while none is complete
        week = last_complete_week(data_through)
        if parse_week(week)[1] < data_from:
            week = week_of(data_through)
    week_start, week_end = parse_week(week)
    if week_end < data_from or week_start > data_through:
        raise ContentpulseError(
            f"report: week {week} ({week_start} to {week_end}) has no data: the snapshot "
            f"holds {data_from} to {data_through}; no page written"
        )
    params = {"week_start": week_start, "week_end": week_end}
    return _WeekData(
        week,
        week_start,
        week_end,
        data_through,
        frames={name: _query(con, name, **params) for name in WEEK_QUERIES},
        found=find(con, week_start, week_end),
        check_notes=con.execute(
            'select model, expectation, "column", unexpected_count from meta.check_results '
            "where not success and not critical order by model"
        ).fetchall(),
        stale_sources=records(_stale_sources(con)),
    )


def _render(env: Environment, data: _WeekData, tiles: list[dict], account_rows: list[dict]) -> str:
    """The week's page: the template filled with its findings, tables and charts."""
    frames, week_start, week_end = data.frames, data.week_start, data.week_end
    recent = frames["recent_performance"]
    recent = recent.assign(reason=[_reason(r) for _, r in recent.iterrows()])
    top = recent.head(10)
    bottom = recent[~recent.item_id.isin(top.item_id)].tail(5).iloc[::-1]
    accounts = sorted(
        {(p, a) for p, a in zip(recent.platform, recent.account_name, strict=True)}
        | {(r.platform, r.account_name) for r in frames["kpi_weeks"].itertuples()}
    )
    releases = charts.new_release_charts(frames["new_releases"], frames["release_bands"])
    segments = frames["segments"]
    return env.get_template("weekly.html.j2").render(
        week=data.week,
        week_start=week_start,
        week_end=week_end,
        data_through=data.data_through,
        incomplete=data.data_through < week_end,
        findings=data.found,
        platforms=sorted({p for p, _ in accounts}),
        accounts=accounts,
        tiles=tiles,
        account_rows=account_rows,
        daily_chart=_chart(charts.daily_views(frames["daily_views"], week_start, week_end), "daily")
        if not frames["daily_views"].empty
        else None,
        release_charts=[
            (platform, account, fmt, _chart(fig, f"release-{i}"))
            for i, (platform, account, fmt, fig) in enumerate(releases)
        ],
        index_chart=_chart(charts.performance_index(recent), "performance-index")
        if not recent.empty
        else None,
        top=records(top),
        bottom=records(bottom),
        heatmap=charts.heatmap_table(frames["heatmap"]) if not frames["heatmap"].empty else None,
        topic_chart=_chart(charts.segment_effects(segments), "segments")
        if not segments.empty
        else None,
        invest=records(segments[segments.recommendation == "invest"]),
        repurposing=records(frames["repurposing"]),
        anomalies=records(frames["anomalies_week"]),
        quality=records(frames["quality_week"]),
        check_notes=data.check_notes,
        stale_sources=data.stale_sources,
        plotly_js=Markup(PLOTLY_JS.read_text(encoding="utf-8")),
    )


def _stale_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The sources a check held back: the snapshot keeps their last published rows
    (meta.source_status; a snapshot from before it has none)."""
    has_status = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'source_status'"
    ).fetchall()[0][0]
    if not has_status:
        return pd.DataFrame(columns=["platform", "stale_since", "reason"])
    return con.execute(
        "select platform, stale_since, reason from meta.source_status "
        "where status = 'stale' order by platform"
    ).df()


def _count(value: object, sign: bool = False) -> str:
    """A whole number with thousands separators ("—" for NULL): never 490.0, nan or None."""
    if value is None or _missing(value):
        return "—"
    return format(round(float(value)), "+," if sign else ",")


def _percent(value: object, digits: int = 0) -> str:
    """A share as a percentage ("—" for NULL)."""
    if value is None or _missing(value):
        return "—"
    return f"{float(value) * 100:.{digits}f} %"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["count"] = _count
    env.filters["percent"] = _percent
    return env


def _chart(fig, name: str) -> Markup:
    return Markup(charts.figure_html(fig, f"chart-{name}"))


def write_index(out_dir: Path, env: Environment) -> Path:
    weeks = sorted(
        (p.name.removeprefix("weekly-").removesuffix(".html"), p.name)
        for p in out_dir.glob("weekly-*.html")
    )
    path = out_dir / "index.html"
    _write_atomic(path, env.get_template("index.html.j2").render(weeks=weeks[::-1]))
    return path
