"""The weekly strategy report: one self-contained HTML file per ISO week, plus an index.

Reads only the published snapshot (analytics.duckdb), never the working warehouse.
plotly.js is inlined once per page; nothing is fetched from anywhere. Platform text
(titles) is untrusted: Jinja2 autoescapes it in HTML and it is escaped again before it
reaches chart hover labels.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from plotly.offline import get_plotlyjs

from contentpulse.errors import ContentpulseError
from transforms.publish import open_snapshot

HERE = Path(__file__).resolve().parent
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
PALETTE = ["#2f6fde", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#6c757d", "#c0392b", "#27ae60"]


@dataclass
class ReportOutput:
    week: str
    path: Path
    rows: int


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
    sql = (HERE / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.execute(sql, used).df()


def _pct(now: float, before: float) -> float | None:
    return None if not before else (now - before) / before * 100


def _daily_chart(daily: pd.DataFrame, week_start: date, week_end: date) -> go.Figure:
    fig = go.Figure()
    for i, (name, frame) in enumerate(daily.groupby("account_name", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=frame["date"],
                y=frame["views"],
                mode="lines",
                name=html.escape(str(name)),
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                hovertemplate="%{x|%a %d %b}<br>%{y:,} views<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_vrect(
        x0=week_start,
        x1=week_end + timedelta(days=1),
        fillcolor="#2f6fde",
        opacity=0.08,
        line_width=0,
        annotation_text="this week",
        annotation_position="top left",
    )
    fig.update_layout(
        height=340,
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        yaxis_title="views per day",
        template="plotly_white",
    )
    return fig


def _index_chart(recent: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (name, frame) in enumerate(recent.groupby("account_name", sort=True)):
        custom = list(
            zip(
                (html.escape(str(t)) for t in frame["title"]),
                frame["format"],
                (d.isoformat() for d in pd.to_datetime(frame["published_date"]).dt.date),
                frame["views_d7"],
                frame["peer_median_d7"].round(0),
                strict=True,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=frame["published_date"],
                y=frame["performance_index"],
                mode="markers",
                name=html.escape(str(name)),
                customdata=custom,
                marker={
                    "color": PALETTE[i % len(PALETTE)],
                    "size": 9,
                    "opacity": 0.8,
                    "symbol": ["diamond" if f == "short" else "circle" for f in frame["format"]],
                },
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}, published %{customdata[2]}"
                    "<br>%{customdata[3]:,} views in 7 days vs typical %{customdata[4]:,}"
                    "<br>index %{y:+.2f}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    fig.add_hline(y=0, line_dash="dot", line_color="#888")
    fig.update_layout(
        height=360,
        margin={"l": 50, "r": 10, "t": 20, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        template="plotly_white",
        yaxis_title="performance index (0 = typical)",
    )
    return fig


def _figure_html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(snapshot: Path, out_dir: Path, week: str | None = None) -> ReportOutput:
    """Render the report for `week` (default: the last complete week in the data)."""
    with open_snapshot(snapshot) as con:
        data_through = _query(con, "data_through")["data_through"].iloc[0]
        if pd.isna(data_through):
            raise ContentpulseError(f"report: {snapshot} holds no daily data yet")
        data_through = pd.Timestamp(data_through).date()
        week = week or last_complete_week(data_through)
        week_start, week_end = parse_week(week)
        params = {"week_start": week_start, "week_end": week_end}
        kpis = _query(con, "kpis", **params)
        daily = _query(con, "daily_views", **params)
        recent = _query(con, "recent_performance", **params)

    def tile(label: str, now: float, before: float, fmt: str) -> dict:
        return {"label": label, "value": format(now, fmt), "change": _pct(now, before)}

    totals = kpis[
        [
            "views",
            "views_prev",
            "watch_hours",
            "watch_hours_prev",
            "followers_net",
            "followers_net_prev",
            "posts",
            "posts_prev",
        ]
    ].sum()
    tiles = [
        tile("Views", totals.views, totals.views_prev, ",.0f"),
        tile("Watch hours", totals.watch_hours, totals.watch_hours_prev, ",.0f"),
        tile("Net subscribers", totals.followers_net, totals.followers_net_prev, "+,.0f"),
        tile("Posts published", totals.posts, totals.posts_prev, ",.0f"),
    ]
    top = recent.head(10)
    bottom = recent[~recent.item_id.isin(top.item_id)].tail(5).iloc[::-1]
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    page = env.get_template("weekly.html.j2").render(
        week=week,
        week_start=week_start,
        week_end=week_end,
        data_through=data_through,
        incomplete=data_through < week_end,
        tiles=tiles,
        accounts=kpis.to_dict("records"),
        daily_chart=_figure_html(_daily_chart(daily, week_start, week_end), "daily-views")
        if not daily.empty
        else None,
        index_chart=_figure_html(_index_chart(recent), "performance-index")
        if not recent.empty
        else None,
        top=top.to_dict("records"),
        bottom=bottom.to_dict("records"),
        plotly_js=get_plotlyjs(),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"weekly-{week}.html"
    _write_atomic(path, page)
    write_index(out_dir, env)
    return ReportOutput(week, path, len(kpis) + len(daily) + len(recent))


def write_index(out_dir: Path, env: Environment) -> Path:
    weeks = sorted(
        (p.name.removeprefix("weekly-").removesuffix(".html"), p.name)
        for p in out_dir.glob("weekly-*.html")
    )
    path = out_dir / "index.html"
    _write_atomic(path, env.get_template("index.html.j2").render(weeks=weeks[::-1]))
    return path
