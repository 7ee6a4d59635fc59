"""The weekly report's charts: Plotly figures (rendered without plotly.js, which the page
inlines once) and tiny inline SVG sparklines.

Platform text (titles, account names) is untrusted: every string that reaches a trace
name, hover label or axis is HTML-escaped here, because Plotly renders hover labels as
HTML. Every trace carries `meta = [platform, account]`, which the page's filters use to
show and hide whole accounts or platforms across all charts.
"""

from __future__ import annotations

import html
import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go

PALETTE = ["#2f6fde", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#6c757d", "#c0392b", "#27ae60"]
# Plotly's named templates add ~7 KB of JSON to every figure; an empty one and a few axis
# settings draw the same white charts
AXIS = {"gridcolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True}
STYLE = {
    "template": go.layout.Template(),
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
    "font": {"color": "#2a3f5f"},
    "xaxis": AXIS,
    "yaxis": AXIS,
}
LAYOUT = {**STYLE, "legend": {"orientation": "h", "y": -0.18}}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def short(title: object, limit: int = 60) -> str:
    text = str(title)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def colours(names: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def figure_html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def sparkline(values: list[float], width: int = 96, height: int = 24) -> str:
    """An inline SVG polyline of a few numbers (no text inside: safe to emit as markup)."""
    points = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if len(points) < 2:
        return ""
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = width / (len(points) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}"
        for i, v in enumerate(points)
    )
    last_x, last_y = coords.rsplit(" ", 1)[-1].split(",")
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="last {len(points)} weeks">'
        f'<polyline fill="none" stroke="#2f6fde" stroke-width="1.5" points="{coords}"/>'
        f'<circle cx="{last_x}" cy="{last_y}" r="2" fill="#2f6fde"/></svg>'
    )


def daily_views(daily: pd.DataFrame, week_start: date, week_end: date) -> go.Figure:
    """Each account's daily views: solid where measured, dotted where the day includes an
    estimate (the dotted stretch reaches the measured days on either side, so the line runs
    on)."""
    fig = go.Figure()
    palette = colours(list(daily["account_name"]))
    for (platform, name), frame in daily.groupby(["platform", "account_name"], sort=True):
        frame = frame.sort_values("date")
        estimated = frame["views_estimated"].fillna(0).gt(0).to_numpy()
        position = np.arange(len(frame))
        near = estimated | (np.roll(estimated, 1) & (position > 0))
        near |= np.roll(estimated, -1) & (position < len(frame) - 1)
        for part, shown, dash, hover in (
            ("measured", ~estimated, "solid", "%{y:,} views"),
            ("estimated", near, "dot", "≈ %{y:,} views (%{customdata:,} estimated)"),
        ):
            if not shown.any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=frame["date"],
                    y=frame["views"].where(shown),
                    customdata=frame["views_estimated"].fillna(0),
                    mode="lines",
                    name=esc(name),
                    legendgroup=esc(name),
                    showlegend=part == "measured" or not (~estimated).any(),
                    meta=[platform, name],
                    line={"color": palette[name], "width": 2, "dash": dash},
                    hovertemplate=f"%{{x|%a %d %b}}<br>{hover}<extra>%{{fullData.name}}</extra>",
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
        height=320,
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        yaxis_title="views per day",
        **LAYOUT,
    )
    return fig


def new_release_charts(
    releases: pd.DataFrame, bands: pd.DataFrame, per_chart: int = 8
) -> list[tuple[str, str, str, go.Figure]]:
    """One small chart per account and format: each new release's cumulative views by age
    against the peers' P20-P80 band and median. Returns (platform, account, format, figure)."""
    charts = []
    keys = releases[["platform", "account_id", "account_name", "format"]].drop_duplicates()
    for row in keys.sort_values(["account_name", "format"]).itertuples(index=False):
        mine = releases[
            (releases.platform == row.platform)
            & (releases.account_id == row.account_id)
            & (releases.format == row.format)
        ]
        band = bands[
            (bands.platform == row.platform)
            & (bands.account_id == row.account_id)
            & (bands.format == row.format)
        ].sort_values("age")
        fig = go.Figure()
        meta = [row.platform, row.account_name]
        if not band.empty:
            _add_peer_band(fig, band, meta)
        _add_release_curves(fig, mine, meta, per_chart)
        fig.update_layout(
            height=300,
            margin={"l": 50, "r": 10, "t": 10, "b": 30},
            xaxis_title="days since publish",
            yaxis_title="views so far",
            showlegend=False,
            **STYLE,
        )
        charts.append((row.platform, row.account_name, row.format, fig))
    return charts


def _add_peer_band(fig: go.Figure, band: pd.DataFrame, meta: list[str]) -> None:
    """The peers' P20-P80 band (filled between two invisible lines) and their median."""
    fig.add_trace(
        go.Scatter(
            x=band["age"], y=band["p80"], mode="lines", line={"width": 0},
            showlegend=False, hoverinfo="skip", meta=meta,
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=band["age"],
            y=band["p20"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(47,111,222,0.13)",
            name="peers P20-P80",
            customdata=band[["p80", "peers"]].to_numpy(),
            hovertemplate=(
                "day %{x}: peers %{y:,.0f} to %{customdata[0]:,.0f} "
                "(%{customdata[1]} peers)<extra></extra>"
            ),
            meta=meta,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=band["age"], y=band["p50"], mode="lines", name="peer median",
            line={"color": "#5b6476", "dash": "dot", "width": 1.5}, meta=meta,
            hovertemplate="day %{x}: peer median %{y:,.0f}<extra></extra>",
        )
    )  # fmt: skip


def _add_release_curves(
    fig: go.Figure, mine: pd.DataFrame, meta: list[str], per_chart: int
) -> None:
    """The newest `per_chart` releases' cumulative views by age, one line each."""
    newest = (
        mine[["item_id", "published_date"]]
        .drop_duplicates()
        .sort_values("published_date")
        .tail(per_chart)
    )
    for i, item in enumerate(newest.itertuples(index=False)):
        curve = mine[mine.item_id == item.item_id].sort_values("age_days")
        title = esc(short(curve["title"].iloc[0], 48))
        published = pd.Timestamp(item.published_date).date().isoformat()
        fig.add_trace(
            go.Scatter(
                x=curve["age_days"],
                y=curve["cumulative_views"],
                mode="lines+markers",
                marker={"size": 4},
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                name=title,
                meta=meta,
                hovertemplate=(
                    f"<b>{title}</b><br>published {published}<br>"
                    "day %{x}: %{y:,} views so far<extra></extra>"
                ),
            )
        )


def performance_index(recent: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    palette = colours(list(recent["account_name"]))
    for (platform, name), frame in recent.groupby(["platform", "account_name"], sort=True):
        custom = list(
            zip(
                (esc(short(t)) for t in frame["title"]),
                frame["format"],
                (pd.Timestamp(d).date().isoformat() for d in frame["published_date"]),
                frame["views_d7"],
                frame["peer_median_d7"].round(0),
                frame["age_days"],
                strict=True,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=frame["published_date"],
                y=frame["performance_index"],
                mode="markers",
                name=esc(name),
                meta=[platform, name],
                customdata=custom,
                marker={
                    "color": palette[name],
                    "size": 9,
                    "opacity": 0.8,
                    "symbol": ["diamond" if f == "short" else "circle" for f in frame["format"]],
                },
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}, published %{customdata[2]}, "
                    "%{customdata[5]} days old<br>%{customdata[3]:,} views in 7 days vs "
                    "typical %{customdata[4]:,}<br>index %{y:+.2f}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    fig.add_hline(y=0, line_dash="dot", line_color="#888")
    fig.update_layout(
        height=340,
        margin={"l": 50, "r": 10, "t": 20, "b": 40},
        yaxis_title="performance index (0 = typical)",
        **LAYOUT,
    )
    return fig


def heatmap_table(heat: pd.DataFrame) -> dict:
    """The platform x format (rows) by account (columns) median index as an HTML table's
    data: each cell its value, releases and a diverging colour (blue above the peers, red
    below). A table, not a chart: it reads in a mail client, scrolls on a phone, and needs
    no heatmap trace in the page's plotly.js."""
    rows = sorted({(p, f) for p, f in zip(heat.platform, heat.format, strict=True)})
    columns = sorted({(p, a) for p, a in zip(heat.platform, heat.account_name, strict=True)})
    bound = max([abs(float(v)) for v in heat.median_index] + [0.5])
    cells = {
        (r.platform, r.format, r.account_name): (float(r.median_index), int(r["items"]))
        for _, r in heat.iterrows()
    }
    body = []
    for platform, fmt in rows:
        line = []
        for column_platform, account in columns:
            # a column is one platform's account: a row of another platform has no cell
            # there, even where an account of the same name posts on both
            value, items = (
                cells.get((platform, fmt, account), (None, 0))
                if column_platform == platform
                else (None, 0)
            )
            line.append(
                {
                    "platform": column_platform,
                    "account_name": account,
                    "value": value,
                    "items": items,
                    "background": None if value is None else diverging(value / bound),
                    "light_text": value is not None and abs(value / bound) > 0.6,
                }
            )
        body.append({"label": f"{platform} · {fmt}", "cells": line})
    return {"columns": [{"platform": p, "account_name": a} for p, a in columns], "rows": body}


def diverging(share: float) -> str:
    """A colour from red (-1) through white (0) to blue (+1), like RdBu."""
    share = max(-1.0, min(1.0, share))
    end = (33, 102, 172) if share >= 0 else (178, 24, 43)
    mix = [round(255 + (c - 255) * abs(share)) for c in end]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def segment_effects(segments: pd.DataFrame, limit: int = 14) -> go.Figure:
    """The strongest segment effects with their 80 % intervals (a forest plot)."""
    top = segments.reindex(segments.shrunk_effect.abs().sort_values(ascending=False).index)
    top = top.head(limit).iloc[::-1]
    labels = [
        f"{esc(f)} · {esc(s)}" + (" (slot)" if d == "publish_slot" else "")
        for f, s, d in zip(top.format, top.segment, top.dimension, strict=True)
    ]
    colour = {"invest": "#17824a", "avoid": "#c0392b", "unclear": "#6c757d"}
    fig = go.Figure(
        go.Scatter(
            x=top["shrunk_effect"],
            y=labels,
            mode="markers",
            marker={"size": 9, "color": [colour.get(r, "#6c757d") for r in top.recommendation]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": top["effect_upper_80"] - top["shrunk_effect"],
                "arrayminus": top["shrunk_effect"] - top["effect_lower_80"],
                "color": "#9aa3b2",
            },
            customdata=top[["items", "effect_lower_80", "effect_upper_80", "recommendation"]],
            hovertemplate=(
                "%{y}<br>effect %{x:+.2f} (80 %: %{customdata[1]:+.2f} to %{customdata[2]:+.2f})"
                "<br>%{customdata[0]} releases · %{customdata[3]}<extra></extra>"
            ),
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color="#888")
    fig.update_layout(
        height=120 + 26 * len(top), margin={"l": 220, "r": 10, "t": 10, "b": 40},
        xaxis_title="effect on the performance index (shrunk)", **STYLE,
    )  # fmt: skip
    return fig
