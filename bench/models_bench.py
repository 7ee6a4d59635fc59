"""The models at scale on a generated two-year YouTube history: prints figures, asserts nothing.

1. generate: 20,000 videos (35 % Shorts) over 10 channels, published uniformly over the 730
   days before END, written straight into a fresh warehouse as the loader would have written
   them: raw tables with one landing file per account x 31-day chunk (as a backfill lands
   them), meta.accounts, and meta.loaded_files not yet built.
2. full: `build(con, full=True)`, with DuckDB's default threads and again after
   `set threads = 2`: wall time, seconds and rows per model, peak RSS.
3. night: the next night lands (the last 3 days restated upward, one new day, a few new
   uploads, every video re-listed), then `build(con)`, which runs incrementally.
4. rebuild + compare: a full build on the same data; every table in staging, intermediate
   and marts compared with the incremental result: exactly (row count and sum of row
   hashes), and where that differs, again with doubles cut to 10 significant digits and
   lists sorted, to tell float summation order and unordered list() from real differences.
5. pandas: the performance index as an analyst would compute it in plain pandas, against
   marts.post_performance.

Every phase runs in a process of its own, so that each peak RSS is that phase's own. The
model files are copied once at the start: edits made while the benchmark runs cannot turn
the night into a full build. It exits 1 only when a phase fails or a comparison differs.

    python bench/models_bench.py [--videos 20000] [--days 730] [--dir D] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.youtube import plan_chunks
from connectors.youtube.settings import SCHEMAS, TRAFFIC_DAYS
from contentpulse.streams import Window
from contentpulse.warehouse import connect, open_warehouse
from models.runner import MODELS_DIR, BuildContext, build
from sandbox.portfolio import TITLE_WORDS, TOPICS, TRAFFIC_SOURCES
from transforms.identity import warehouse_families
from transforms.load import ensure_raw_tables, raw_table

END = date(2026, 11, 20)  # the newest reporting day of the backfill
NIGHT = END + timedelta(days=1)  # the new day the next night brings
BACKFILL_AT = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
NIGHT_AT = datetime(2026, 11, 22, 3, 5, tzinfo=UTC)
BACKFILL_RUN = "backfill__20261121T003000"
NIGHT_RUN = "scheduled__2026-11-22T030000"
LOOKBACK_DAYS = 3  # sources.youtube.lookback_days
NEW_UPLOADS = 25
UNIT_SECONDS = 7  # a backfill unit (account x chunk) lands every few seconds
# issue 20's goals, as ratios in one run: the full build at most pandas' time for the one
# index, the night at most 7 % of the full build and under 1.5 s, the full build's peak
GOAL_FULL_VS_PANDAS = 1.0
GOAL_NIGHT_SHARE = 0.07
GOAL_NIGHT_S = 1.5
GOAL_PEAK_MIB = 2 * 1024
# name, reporting time zone, audience scale
CHANNELS = [
    ("Northwind News", "America/New_York", 1.0),
    ("Northwind UK", "Europe/London", 0.7),
    ("Northwind Japan", "Asia/Tokyo", 0.6),
    ("Northwind Brasil", "America/Sao_Paulo", 1.4),
    ("Northwind Deutschland", "Europe/Berlin", 0.5),
    ("Northwind India", "Asia/Kolkata", 2.0),
    ("Northwind Australia", "Australia/Sydney", 0.4),
    ("Northwind West", "America/Los_Angeles", 0.9),
    ("Northwind Africa", "Africa/Lagos", 0.8),
    ("Northwind World", "UTC", 1.2),
]
LIFETIME_VIEWS = 30_000  # median lifetime views of a long-form video at scale 1
WEEKDAY_SEASON = np.array([0.95, 0.93, 0.96, 1.0, 1.05, 1.12, 1.1])  # Monday first
SOURCE_WEIGHTS = {  # Dirichlet weights over TRAFFIC_SOURCES, as the sandbox mixes them
    False: np.array([3, 4, 3, 1, 0.2, 1, 1, 1, 1], dtype=float),
    True: np.array([3, 4, 3, 1, 6, 1, 1, 1, 1], dtype=float),
}
COUNT_METRICS = {  # metric: share of views (long-form, Short)
    "engagedViews": (0.9, 0.6),
    "likes": (0.03, 0.04),
    "dislikes": (0.001, 0.001),
    "comments": (0.004, 0.002),
    "shares": (0.003, 0.003),
    "subscribersGained": (0.002, 0.002),
    "subscribersLost": (0.0003, 0.0003),
}
_ID_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
_EPOCH = date(1970, 1, 1)
_EPOCH_AT = datetime(1970, 1, 1, tzinfo=UTC)
_PHASES = ("generate", "full", "full_threads", "night_land", "night", "keep", "rebuild")
_PHASES += ("compare", "pandas")


# -- small helpers ----------------------------------------------------------------------


def peak_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far: wall time / CPU time tells how much
    of the machine the phase had (other processes share its cores)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def micros(at: datetime) -> int:
    return (at - _EPOCH_AT) // timedelta(microseconds=1)


def tokens(rng: np.random.Generator, count: int, length: int) -> list[str]:
    chars = _ID_ALPHABET[rng.integers(0, 64, size=(count, length))]
    return ["".join(row) for row in chars]


def hex_token(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(0, 2**48)):012x}"


def landing_name(
    stream: str, account_id: str, window: Window | str, run_id: str, token: str
) -> str:
    """The path the landing writer gives a file, relative to the landing root."""
    return f"source=youtube/stream={stream}/account={account_id}/window={window}/{run_id}__{token}.parquet"


def dictionary(indices: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(indices, dtype=np.int32)), pa.array(values, type=pa.string())
    )


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int64).astype("datetime64[D]"))


def stamps(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64).astype("datetime64[us]")).cast(
        pa.timestamp("us", tz="UTC")
    )


def insert_raw(con: duckdb.DuckDBPyConnection, stream: str, table: pa.Table) -> int:
    """Append generated rows to a raw table, by name, as the loader's INSERT does."""
    con.register("landed", table)
    try:
        con.execute(f"insert into {raw_table('youtube', stream)} by name select * from landed")
    finally:
        con.unregister("landed")
    return table.num_rows


def local_publish(
    published_us: np.ndarray, channel: np.ndarray, timezones: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's publish day (days since 1970) in its channel's time zone, and the share of
    that first day still ahead of it (the first day's views are partial)."""
    local_day = np.empty(published_us.size, dtype=np.int64)
    first_share = np.empty(published_us.size)
    for c, tz in enumerate(timezones):
        mask = channel == c
        local = pd.DatetimeIndex(pd.to_datetime(published_us[mask], unit="us", utc=True))
        seconds = (
            local.tz_convert(tz).tz_localize(None).values.astype("datetime64[s]").astype(np.int64)
        )
        local_day[mask] = seconds // 86400
        first_share[mask] = np.maximum(1 - (seconds % 86400) / 86400, 0.05)
    return local_day, first_share


@dataclass
class Landing:
    """The landing files a generated run lands, for meta.loaded_files (not built yet)."""

    paths: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)

    def add_units(
        self, stream: str, names: list[str], unit_accounts: list[str], unit: np.ndarray
    ) -> None:
        counts = np.bincount(unit, minlength=len(names))
        for u in np.flatnonzero(counts):
            self.add(stream, names[u], unit_accounts[u], int(counts[u]))

    def add(self, stream: str, path: str, account_id: str, rows: int) -> None:
        self.paths.append(path)
        self.streams.append(stream)
        self.accounts.append(account_id)
        self.rows.append(rows)

    def register(self, con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> int:
        files = pa.table(  # noqa: F841 (read by DuckDB below)
            {
                "path": pa.array(self.paths, pa.string()),
                "source": pa.array(["youtube"] * len(self.paths), pa.string()),
                "stream": pa.array(self.streams, pa.string()),
                "account_id": pa.array(self.accounts, pa.string()),
                "rows": pa.array(self.rows, pa.int64()),
            }
        )
        con.execute(
            "insert into meta.loaded_files (path, source, stream, account_id, rows, loaded_at) "
            "select path, source, stream, account_id, rows, ? from files",
            [loaded_at],
        )
        return len(self.paths)


# -- 1. the backfilled history ----------------------------------------------------------


def generate_history(
    con: duckdb.DuckDBPyConnection, n_videos: int, days: int, seed: int
) -> dict[str, int]:
    """Two years of a 10-channel portfolio, landed as a backfill's files would be loaded."""
    rng = np.random.default_rng(seed)
    n_ch = len(CHANNELS)
    account_ids = ["UC" + t for t in tokens(rng, n_ch, 22)]
    timezones = [tz for _, tz, _ in CHANNELS]
    scale = np.array([s for _, _, s in CHANNELS])
    con.executemany(
        "insert into meta.accounts values ('youtube', ?, ?, ?)",
        [[a, name, tz] for a, (name, tz, _) in zip(account_ids, CHANNELS, strict=True)],
    )
    ensure_raw_tables(con)

    # the videos: published uniformly over `days` days up to the end of END (UTC)
    first_publish = datetime.combine(END - timedelta(days=days - 1), datetime.min.time(), UTC)
    published_us = micros(first_publish) + np.sort(
        rng.integers(0, days * 86400, n_videos)
    ) * np.int64(1_000_000)
    channel = rng.integers(0, n_ch, n_videos)
    local_day, first_share = local_publish(published_us, channel, timezones)
    is_short = rng.random(n_videos) < 0.35
    duration = np.where(is_short, rng.integers(12, 60, n_videos), rng.integers(240, 2400, n_videos))
    lifetime = rng.lognormal(
        np.log(LIFETIME_VIEWS * scale[channel] * np.where(is_short, 2.5, 1.0)), 0.9
    )
    lifetime *= np.where(rng.random(n_videos) < 0.015, rng.uniform(15, 40, n_videos), 1.0)
    tau = np.where(is_short, rng.uniform(1.5, 6.0, n_videos), rng.uniform(3.0, 14.0, n_videos))
    evergreen = rng.uniform(0.05, 0.45, n_videos)
    avg_pct = np.round(
        np.clip(
            np.where(is_short, rng.normal(85, 8, n_videos), rng.normal(42, 8, n_videos)),
            5,
            np.where(is_short, 160, 100),
        ),
        2,
    )
    view_s = duration * avg_pct / 100
    mix = rng.gamma(np.where(is_short[:, None], SOURCE_WEIGHTS[True], SOURCE_WEIGHTS[False]) * 2)
    mix /= mix.sum(axis=1, keepdims=True)

    # video x day, from the local publish day to END: launch spike + evergreen tail
    end_day = day_number(END)
    n_days = np.clip(end_day - local_day + 1, 0, None)
    vid = np.repeat(np.arange(n_videos), n_days)
    age = np.arange(vid.size) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    day = local_day[vid] + age
    shape = (1 - evergreen[vid]) * np.exp(-age / tau[vid]) / tau[vid]
    shape += evergreen[vid] * np.exp(-age / 400.0) / 400.0
    shape[age == 0] *= first_share[vid[age == 0]]
    views = rng.poisson(lifetime[vid] * shape * WEEKDAY_SEASON[(day + 3) % 7])
    video_days = int(vid.size)
    keep = views > 0  # YouTube returns no row for a day without views
    vid, age, day, views = vid[keep], age[keep], day[keep], views[keep]
    del shape, keep

    # the backfill's units: account x 31-day chunk, landed one after the other
    history = Window(date.fromordinal(_EPOCH.toordinal() + int(local_day.min())), END)
    chunks = plan_chunks(history)
    chunk_starts = np.array([day_number(c.start) for c in chunks])
    n_chunks = len(chunks)
    n_units = n_ch * n_chunks
    unit_account = [account_ids[u // n_chunks] for u in range(n_units)]
    unit_window = [chunks[u % n_chunks] for u in range(n_units)]
    unit_us = micros(BACKFILL_AT) + (np.arange(n_units) + 1 + np.arange(n_units) // n_chunks) * (
        UNIT_SECONDS * 1_000_000
    )
    metadata_us = micros(BACKFILL_AT) + np.arange(n_ch) * (n_chunks + 1) * UNIT_SECONDS * 1_000_000

    def unit_of(channel_index: np.ndarray, day_numbers: np.ndarray) -> np.ndarray:
        return channel_index * n_chunks + np.searchsorted(chunk_starts, day_numbers, "right") - 1

    def names(stream: str) -> list[str]:
        return [
            landing_name(stream, unit_account[u], unit_window[u], BACKFILL_RUN, hex_token(rng))
            for u in range(n_units)
        ]

    landing = Landing()
    counts: dict[str, int] = {"videos": n_videos, "video_days": video_days}

    # content_daily, in landing order: unit, then video, then day
    unit = unit_of(channel[vid], day)
    order = np.argsort(unit * np.int64(n_videos) + vid, kind="stable")
    vid, age, day, views, unit = vid[order], age[order], day[order], views[order], unit[order]
    metrics: dict[str, np.ndarray] = {"views": views}
    for metric, (p_long, p_short) in COUNT_METRICS.items():
        # each video has its own rate around the format's; a day's count is views x rate,
        # randomly rounded (binomial draws for 7 metrics x 7 million days take seconds)
        rate = np.clip(np.where(is_short, p_short, p_long) * rng.lognormal(0, 0.3, n_videos), 0, 1)
        metrics[metric] = np.floor(views * rate[vid] + rng.random(views.size)).astype(np.int64)
    metrics["estimatedMinutesWatched"] = np.rint(views * view_s[vid] / 60).astype(np.int64)
    metrics["averageViewDuration"] = np.rint(view_s[vid]).astype(np.int64)
    metrics["averageViewPercentage"] = avg_pct[vid]
    item_ids = tokens(rng, n_videos, 11)
    stream_names = names("content_daily")
    table = pa.table(
        {
            "account_id": dictionary(channel[vid], account_ids),
            "item_id": dictionary(vid, item_ids),
            "date": dates(day),
            **{m: pa.array(v) for m, v in metrics.items()},
            "extracted_at": stamps(unit_us[unit]),
            "run_id": dictionary(np.zeros(vid.size), [BACKFILL_RUN]),
            "landing_file": dictionary(unit, stream_names),
        }
    )
    counts["content_daily"] = insert_raw(con, "content_daily", table)
    landing.add_units("content_daily", stream_names, unit_account, unit)
    del table
    unit_rows = {"content_daily": np.bincount(unit, minlength=n_units)}

    # content_items: one row per video, read once per account before its chunks
    lifetime_totals = {
        m: np.bincount(vid, weights=metrics[m], minlength=n_videos).astype(np.int64)
        for m in ("views", "likes", "comments")
    }
    langs = list(TITLE_WORDS)
    lang = rng.integers(0, len(langs), n_videos)
    topic = rng.integers(0, len(TOPICS), n_videos)
    word = rng.integers(0, 64, n_videos)
    titles, descriptions, tags, links, urls = [], [], [], [], []
    for i in range(n_videos):
        words = TITLE_WORDS[langs[lang[i]]]
        subject = TOPICS[topic[i]]
        titles.append(
            f"{words[word[i] % len(words)]} {subject}" + (" #shorts" if is_short[i] else "")
        )
        link = (
            f"https://northwind.example/stories/{subject.replace(' ', '-')}-{i}"
            f"?utm_source=youtube&utm_campaign=c{channel[i]}"
        )
        descriptions.append(f"Full story: {link}\nFollow us for more.")
        links.append([link])
        tags.append([subject, langs[lang[i]]])
        urls.append(
            f"https://www.youtube.com/shorts/{item_ids[i]}"
            if is_short[i]
            else f"https://www.youtube.com/watch?v={item_ids[i]}"
        )
    order = np.argsort(channel, kind="stable")
    item_names = [
        landing_name("content_items", a, history, BACKFILL_RUN, hex_token(rng)) for a in account_ids
    ]
    table = pa.table(
        {
            "account_id": dictionary(channel[order], account_ids),
            "item_id": pa.array([item_ids[i] for i in order]),
            "title": pa.array([titles[i] for i in order]),
            "description": pa.array([descriptions[i] for i in order]),
            "tags": pa.array([tags[i] for i in order], pa.list_(pa.string())),
            "published_at": stamps(published_us[order]),
            "duration_s": pa.array(duration[order].astype(np.int64)),
            "format": pa.array(np.where(is_short, "short", "video")[order].tolist()),
            "url": pa.array([urls[i] for i in order]),
            "links": pa.array([links[i] for i in order], pa.list_(pa.string())),
            "view_count": pa.array(lifetime_totals["views"][order]),
            "like_count": pa.array(lifetime_totals["likes"][order]),
            "comment_count": pa.array(lifetime_totals["comments"][order]),
            "raw_json": pa.array(["{}"] * n_videos),
            "extracted_at": stamps(metadata_us[channel[order]]),
            "run_id": dictionary(np.zeros(n_videos), [BACKFILL_RUN]),
            "landing_file": dictionary(channel[order], item_names),
        }
    )
    counts["content_items"] = insert_raw(con, "content_items", table)
    for c, a in enumerate(account_ids):
        landing.add("content_items", item_names[c], a, int((channel == c).sum()))

    # account_daily: every channel day of the history, the sum over its videos
    n_hist = history.days
    h0 = day_number(history.start)
    cell = channel[vid] * n_hist + (day - h0)

    def per_channel_day(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=values, minlength=n_ch * n_hist).astype(np.int64)

    ch_of = np.repeat(np.arange(n_ch), n_hist)
    ch_day = np.tile(np.arange(n_hist) + h0, n_ch)
    ch_unit = unit_of(ch_of, ch_day)
    ch_views = per_channel_day(views)
    stream_names = names("account_daily")
    table = pa.table(
        {
            "account_id": dictionary(ch_of, account_ids),
            "date": dates(ch_day),
            "views": pa.array(ch_views),
            "estimatedMinutesWatched": pa.array(
                per_channel_day(metrics["estimatedMinutesWatched"])
            ),
            "subscribersGained": pa.array(per_channel_day(metrics["subscribersGained"])),
            "subscribersLost": pa.array(per_channel_day(metrics["subscribersLost"])),
            "extracted_at": stamps(unit_us[ch_unit]),
            "run_id": dictionary(np.zeros(ch_of.size), [BACKFILL_RUN]),
            "landing_file": dictionary(ch_unit, stream_names),
        }
    )
    counts["account_daily"] = insert_raw(con, "account_daily", table)
    landing.add_units("account_daily", stream_names, unit_account, ch_unit)
    unit_rows["account_daily"] = np.bincount(ch_unit, minlength=n_units)

    # traffic_daily: the channel every day, each video in its first TRAFFIC_DAYS days
    channel_mix = rng.dirichlet((SOURCE_WEIGHTS[False] + SOURCE_WEIGHTS[True]) * 2, size=n_ch)
    split = rng.multinomial(ch_views, channel_mix[ch_of])
    ch_row, ch_src = np.nonzero(split)
    young = np.flatnonzero(age < TRAFFIC_DAYS)
    vsplit = rng.multinomial(views[young], mix[vid[young]])
    v_row, v_src = np.nonzero(vsplit)
    v_row_full = young[v_row]
    t_unit = np.concatenate([ch_unit[ch_row], unit[v_row_full]])
    t_order = np.argsort(t_unit, kind="stable")  # channel rows first within a unit
    stream_names = names("traffic_daily")
    table = pa.table(
        {
            "account_id": dictionary(
                np.concatenate([ch_of[ch_row], channel[vid[v_row_full]]])[t_order], account_ids
            ),
            "item_id": dictionary(
                np.concatenate([np.full(ch_row.size, n_videos), vid[v_row_full]])[t_order],
                [*item_ids, ""],
            ),
            "date": dates(np.concatenate([ch_day[ch_row], day[v_row_full]])[t_order]),
            "source": dictionary(np.concatenate([ch_src, v_src])[t_order], TRAFFIC_SOURCES),
            "views": pa.array(
                np.concatenate([split[ch_row, ch_src], vsplit[v_row, v_src]])[t_order]
            ),
            "extracted_at": stamps(unit_us[t_unit[t_order]]),
            "run_id": dictionary(np.zeros(t_unit.size), [BACKFILL_RUN]),
            "landing_file": dictionary(t_unit[t_order], stream_names),
        }
    )
    counts["traffic_daily"] = insert_raw(con, "traffic_daily", table)
    landing.add_units("traffic_daily", stream_names, unit_account, t_unit)
    unit_rows["traffic_daily"] = np.bincount(t_unit, minlength=n_units)
    traffic_videos = np.bincount(
        np.unique(unit[v_row_full] * np.int64(n_videos) + vid[v_row_full]) // n_videos,
        minlength=n_units,
    )
    del table, split, vsplit

    # account_snapshots: the channel's lifetime counters, read with the metadata
    net = per_channel_day(metrics["subscribersGained"] - metrics["subscribersLost"])
    subscribers = (20_000 * scale + net.reshape(n_ch, n_hist).sum(axis=1)).astype(np.int64)
    snapshot_names = [
        landing_name("account_snapshots", a, history, BACKFILL_RUN, hex_token(rng))
        for a in account_ids
    ]
    table = pa.table(
        {
            "account_id": pa.array(account_ids),
            "subscriber_count": pa.array(subscribers),
            "view_count": pa.array(ch_views.reshape(n_ch, n_hist).sum(axis=1)),
            "video_count": pa.array(np.bincount(channel, minlength=n_ch).astype(np.int64)),
            "extracted_at": stamps(metadata_us),
            "run_id": pa.array([BACKFILL_RUN] * n_ch),
            "landing_file": pa.array(snapshot_names),
        }
    )
    counts["account_snapshots"] = insert_raw(con, "account_snapshots", table)
    for a, name in zip(account_ids, snapshot_names, strict=True):
        landing.add("account_snapshots", name, a, 1)

    # extract_log: one row per unit, its commit mark
    stream_names = names("extract_log")
    rows = sum(unit_rows.values())
    calls = (
        np.ceil(unit_rows["content_daily"] / 200).astype(np.int64) + 2 + traffic_videos
    ).astype(np.int64)
    table = pa.table(
        {
            "account_id": pa.array(unit_account),
            "window_start": dates(np.array([day_number(w.start) for w in unit_window])),
            "window_end": dates(np.array([day_number(w.end) for w in unit_window])),
            "last_date_returned": dates(np.array([day_number(w.end) for w in unit_window])),
            "calls": pa.array(calls),
            "quota_units": pa.array(np.zeros(n_units, dtype=np.int64)),
            "retries": pa.array(rng.poisson(0.2, n_units).astype(np.int64)),
            "rows": pa.array(rows.astype(np.int64)),
            "extracted_at": stamps(unit_us + 1_000_000),
            "run_id": pa.array([BACKFILL_RUN] * n_units),
            "landing_file": pa.array(stream_names),
        }
    )
    counts["extract_log"] = insert_raw(con, "extract_log", table)
    landing.add_units("extract_log", stream_names, unit_account, np.arange(n_units))
    counts["landing_files"] = landing.register(con, BACKFILL_AT + timedelta(hours=1))
    return counts


# -- 3. the next night ------------------------------------------------------------------

RECENT_DAYS_SQL = """
select account_id, item_id, date, views, engagedviews, estimatedminuteswatched,
    averageviewduration, averageviewpercentage, likes, dislikes, comments, shares,
    subscribersgained, subscriberslost
from raw.youtube__content_daily
where date >= $since
qualify row_number() over (
    partition by account_id, item_id, date order by extracted_at desc, landing_file desc
) = 1
order by account_id, item_id, date
"""
LISTED_ITEMS_SQL = """
select items.* exclude (landing_file, extracted_at, run_id),
    cast(timezone(accounts.timezone, items.published_at) as date) as published_date
from raw.youtube__content_items as items
inner join meta.accounts as accounts
    on accounts.platform = 'youtube' and items.account_id = accounts.account_id
qualify row_number() over (
    partition by items.account_id, items.item_id
    order by items.extracted_at desc, items.landing_file desc
) = 1
order by items.account_id, items.item_id
"""
LAST_SNAPSHOTS_SQL = """
select account_id, subscriber_count, view_count, video_count
from raw.youtube__account_snapshots
qualify row_number() over (partition by account_id order by extracted_at desc) = 1
order by account_id
"""


def _frame_to_raw(con: duckdb.DuckDBPyConnection, stream: str, frame: pd.DataFrame) -> int:
    schema = SCHEMAS[stream].append(pa.field("landing_file", pa.string()))
    frame = frame.copy()
    for f in schema:
        if f.type == pa.date32():
            frame[f.name] = pd.to_datetime(frame[f.name]).dt.date
    return insert_raw(
        con, stream, pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    )


def land_night(con: duckdb.DuckDBPyConnection, seed: int) -> dict[str, int]:
    """The next night's extraction, loaded: the last LOOKBACK_DAYS days re-read (restated
    upward), the new day, a few new uploads, and every video re-listed."""
    rng = np.random.default_rng([seed, 1])
    lookback = Window(END - timedelta(days=LOOKBACK_DAYS - 1), NIGHT)
    names = dict(
        con.execute(
            "select account_id, name from meta.accounts where platform = 'youtube' order by all"
        ).fetchall()
    )
    accounts = list(names)
    scale = {a: {name: s for name, _, s in CHANNELS}.get(names[a], 1.0) for a in accounts}
    files = {
        (stream, a): landing_name(stream, a, lookback, NIGHT_RUN, hex_token(rng))
        for stream in SCHEMAS
        for a in accounts
    }
    metric_cols = ["engagedViews", "likes", "dislikes", "comments", "shares"]
    metric_cols += ["subscribersGained", "subscribersLost"]

    # the days re-read: the newest extraction restated upward by 1-6 %
    recent = con.execute(RECENT_DAYS_SQL, {"since": lookback.start}).df()
    recent.columns = ["account_id", "item_id", "date", *SCHEMAS["content_daily"].names[3:-2]]
    recent["date"] = pd.to_datetime(recent["date"])
    factor = rng.uniform(1.01, 1.06, len(recent))
    restated = recent.copy()
    restated["views"] = np.ceil(recent["views"] * factor).astype(np.int64)
    for m in [*metric_cols, "estimatedMinutesWatched"]:
        restated[m] = np.minimum(
            np.rint(recent[m] * factor).astype(np.int64),
            restated["views"] if m != "estimatedMinutesWatched" else np.iinfo(np.int64).max,
        )

    # the new day: each video carries on from its recent days; new uploads start
    totals = (
        restated.groupby(["account_id", "item_id"], sort=True)
        .agg(
            views=("views", "sum"),
            minutes=("estimatedMinutesWatched", "sum"),
            avd=("averageViewDuration", "max"),
            avp=("averageViewPercentage", "max"),
            **{m: (m, "sum") for m in metric_cols},
        )
        .reset_index()
    )
    new_day = totals[["account_id", "item_id"]].copy()
    new_day["date"] = pd.Timestamp(NIGHT)
    new_day["views"] = rng.poisson(totals["views"] / LOOKBACK_DAYS * 0.97)
    for m in metric_cols:
        new_day[m] = rng.binomial(new_day["views"], np.clip(totals[m] / totals["views"], 0, 1))
    new_day["estimatedMinutesWatched"] = np.rint(
        new_day["views"] * totals["minutes"] / totals["views"]
    ).astype(np.int64)
    new_day["averageViewDuration"] = totals["avd"]
    new_day["averageViewPercentage"] = totals["avp"]

    listed = con.execute(LISTED_ITEMS_SQL).df()
    listed["published_date"] = pd.to_datetime(listed["published_date"])
    uploads = pd.DataFrame(
        {
            "account_id": rng.choice(accounts, NEW_UPLOADS),
            "item_id": tokens(rng, NEW_UPLOADS, 11),
            "published_at": pd.Timestamp(NIGHT, tz="UTC")
            + pd.Timedelta(hours=12)
            + pd.to_timedelta(rng.integers(0, 1800, NEW_UPLOADS), unit="s"),
        }
    )
    short = rng.random(NEW_UPLOADS) < 0.35
    uploads["format"] = np.where(short, "short", "video")
    uploads["duration_s"] = np.where(
        short, rng.integers(12, 60, NEW_UPLOADS), rng.integers(240, 2400, NEW_UPLOADS)
    ).astype(np.int64)
    uploads["title"] = [f"Breaking: {TOPICS[i % len(TOPICS)]}" for i in range(NEW_UPLOADS)]
    uploads["description"] = "Full story: https://northwind.example/stories/new\nFollow us."
    uploads["tags"] = [[TOPICS[i % len(TOPICS)], "en"] for i in range(NEW_UPLOADS)]
    uploads["links"] = [["https://northwind.example/stories/new"]] * NEW_UPLOADS
    uploads["url"] = "https://www.youtube.com/watch?v=" + uploads["item_id"]
    uploads["raw_json"] = "{}"
    uploads["published_date"] = pd.Timestamp(NIGHT)
    # listed before the night but with no day yet (published late on END, east of UTC)
    fresh = pd.concat(
        [
            listed.loc[
                listed["published_date"] > pd.Timestamp(END), ["account_id", "item_id", "format"]
            ],
            uploads[["account_id", "item_id", "format"]],
        ],
        ignore_index=True,
    )
    is_short = (fresh["format"] == "short").to_numpy()
    first = fresh[["account_id", "item_id"]].copy()
    first["date"] = pd.Timestamp(NIGHT)
    first["views"] = rng.poisson(
        rng.lognormal(np.log(2_000 * fresh["account_id"].map(scale).to_numpy()), 0.9)
    )
    for m in metric_cols:
        p_long, p_short = COUNT_METRICS[m]
        first[m] = rng.binomial(first["views"], np.where(is_short, p_short, p_long))
    first["averageViewDuration"] = np.where(is_short, 40, 420)
    first["averageViewPercentage"] = np.where(is_short, 85.0, 42.0)
    first["estimatedMinutesWatched"] = np.rint(
        first["views"] * first["averageViewDuration"] / 60
    ).astype(np.int64)

    daily = pd.concat([restated, new_day, first], ignore_index=True)
    daily = daily[daily["views"] > 0].sort_values(["account_id", "item_id", "date"])
    daily["extracted_at"] = pd.Timestamp(NIGHT_AT)
    daily["run_id"] = NIGHT_RUN
    daily["landing_file"] = [files["content_daily", a] for a in daily["account_id"]]
    counts = {"content_daily": _frame_to_raw(con, "content_daily", daily)}

    # every video re-listed, with lifetime counters moved on by the night's views
    added = daily.groupby("item_id")[["views", "likes", "comments"]].sum()
    before = recent.groupby("item_id")[["views", "likes", "comments"]].sum()
    delta = added.sub(before, fill_value=0)
    items = pd.concat([listed, uploads], ignore_index=True)
    for col, m in (("view_count", "views"), ("like_count", "likes"), ("comment_count", "comments")):
        items[col] = (items[col].fillna(0) + items["item_id"].map(delta[m]).fillna(0)).astype(
            np.int64
        )
    items["extracted_at"] = pd.Timestamp(NIGHT_AT)
    items["run_id"] = NIGHT_RUN
    items["landing_file"] = [files["content_items", a] for a in items["account_id"]]
    counts["content_items"] = _frame_to_raw(con, "content_items", items)

    # the channel's days and traffic, for the same window
    account_daily = (
        daily.groupby(["account_id", "date"])[
            ["views", "estimatedMinutesWatched", "subscribersGained", "subscribersLost"]
        ]
        .sum()
        .reset_index()
    )
    account_daily["extracted_at"] = pd.Timestamp(NIGHT_AT)
    account_daily["run_id"] = NIGHT_RUN
    account_daily["landing_file"] = [files["account_daily", a] for a in account_daily["account_id"]]
    counts["account_daily"] = _frame_to_raw(con, "account_daily", account_daily)

    published = pd.concat([listed, uploads])[["item_id", "published_date", "format"]]
    per_video = daily.merge(published, on="item_id")
    per_video = per_video[(per_video["date"] - per_video["published_date"]).dt.days < TRAFFIC_DAYS]
    weights = np.where(
        (per_video["format"] == "short").to_numpy()[:, None],
        SOURCE_WEIGHTS[True],
        SOURCE_WEIGHTS[False],
    )
    mix = rng.gamma(weights * 2)
    mix /= mix.sum(axis=1, keepdims=True)

    def by_source(keys: pd.DataFrame, views: pd.Series, pvals: np.ndarray) -> pd.DataFrame:
        split = rng.multinomial(views.to_numpy(), pvals)
        row, src = np.nonzero(split)  # sources without views return no row
        frame = keys.iloc[row].reset_index(drop=True)
        frame["source"] = np.array(TRAFFIC_SOURCES)[src]
        frame["views"] = split[row, src]
        return frame

    channel_mix = rng.dirichlet(
        (SOURCE_WEIGHTS[False] + SOURCE_WEIGHTS[True]) * 2, len(account_daily)
    )
    channel = by_source(account_daily[["account_id", "date"]], account_daily["views"], channel_mix)
    channel["item_id"] = ""
    videos = by_source(per_video[["account_id", "item_id", "date"]], per_video["views"], mix)
    traffic = pd.concat([channel, videos], ignore_index=True).sort_values(
        ["account_id", "item_id", "date", "source"]
    )
    traffic["extracted_at"] = pd.Timestamp(NIGHT_AT)
    traffic["run_id"] = NIGHT_RUN
    traffic["landing_file"] = [files["traffic_daily", a] for a in traffic["account_id"]]
    counts["traffic_daily"] = _frame_to_raw(con, "traffic_daily", traffic)

    snapshots = con.execute(LAST_SNAPSHOTS_SQL).df()
    grew = account_daily.groupby("account_id").agg(
        gained=("subscribersGained", "sum"), lost=("subscribersLost", "sum")
    )
    snapshots["subscriber_count"] += snapshots["account_id"].map(grew["gained"] - grew["lost"])
    more_views = (
        daily.groupby("account_id")["views"]
        .sum()
        .sub(recent.groupby("account_id")["views"].sum(), fill_value=0)
    )
    snapshots["view_count"] += snapshots["account_id"].map(more_views).fillna(0).astype(np.int64)
    snapshots["video_count"] = snapshots["account_id"].map(items.groupby("account_id").size())
    snapshots["extracted_at"] = pd.Timestamp(NIGHT_AT)
    snapshots["run_id"] = NIGHT_RUN
    snapshots["landing_file"] = [files["account_snapshots", a] for a in snapshots["account_id"]]
    counts["account_snapshots"] = _frame_to_raw(con, "account_snapshots", snapshots)

    log = pd.DataFrame({"account_id": accounts})
    log["window_start"] = lookback.start
    log["window_end"] = lookback.end
    log["last_date_returned"] = NIGHT
    rows_by_account = sum(
        frame.groupby("account_id").size() for frame in (daily, account_daily, traffic)
    )
    log["rows"] = log["account_id"].map(rows_by_account).fillna(0).astype(np.int64)
    log["calls"] = np.ceil(log["rows"] / 200).astype(np.int64) + 3
    log["quota_units"] = 3
    log["retries"] = 0
    log["extracted_at"] = pd.Timestamp(NIGHT_AT) + pd.Timedelta(seconds=1)
    log["run_id"] = NIGHT_RUN
    log["landing_file"] = [files["extract_log", a] for a in log["account_id"]]
    counts["extract_log"] = _frame_to_raw(con, "extract_log", log)

    landing = Landing()
    for name, frame in (
        ("content_daily", daily),
        ("content_items", items),
        ("account_daily", account_daily),
        ("traffic_daily", traffic),
        ("account_snapshots", snapshots),
        ("extract_log", log),
    ):
        for a, n in frame.groupby("account_id").size().items():
            landing.add(name, files[name, a], str(a), int(n))
    counts["landing_files"] = landing.register(con, NIGHT_AT + timedelta(minutes=10))
    counts["new_uploads"] = NEW_UPLOADS
    return counts


# -- 4. incremental vs full -------------------------------------------------------------

KEPT = "bench_incremental"  # where the incremental build's tables wait for the comparison


def built_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('staging', 'intermediate', 'marts') order by all"
        ).fetchall()
    ]


def checksum(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """Row count and the sum of row hashes: independent of row order, sensitive to duplicates."""
    count, total = con.execute(f"select count(*), sum(hash(t)) from {table} as t").fetchall()[0]
    return int(count), int(total or 0)


def normalised_select(con: duckdb.DuckDBPyConnection, table: str, *, sort_lists: bool) -> str:
    """The table with floating-point columns cut to 10 significant digits (parallel sums and
    averages of doubles add up in a different order from run to run) and, if asked, every
    list sorted (a list() aggregate without ORDER BY has no defined order)."""
    columns = con.execute(f"select column_name, column_type from (describe {table})").fetchall()
    exprs = []
    for name, kind in columns:
        if kind in ("DOUBLE", "FLOAT"):
            exprs.append(f"printf('%.9e', \"{name}\")")
        elif sort_lists and kind.endswith("[]"):
            exprs.append(f'list_sort("{name}")')
        else:
            exprs.append(f'"{name}"')
    return f"select {', '.join(exprs)} from {table}"


def same_rows(con: duckdb.DuckDBPyConnection, a: str, b: str) -> bool:
    return not any(
        con.execute(f"select count(*) from ({x} except all {y})").fetchall()[0][0]
        for x, y in ((a, b), (b, a))
    )


def compare_tables(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    out = []
    kept = {
        t
        for (t,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [KEPT]
        ).fetchall()
    }
    for table in built_tables(con):
        copy = f"{KEPT}.{table.replace('.', '__')}"
        if copy.split(".")[1] not in kept:
            out.append({"table": table, "identical": False, "note": "not built by the night"})
            continue
        full, incremental = checksum(con, table), checksum(con, copy)
        row: dict[str, Any] = {
            "table": table,
            "rows": full[0],
            "identical": full == incremental,
        }
        if not row["identical"]:
            row["only_full"] = con.execute(
                f"select count(*) from (from {table} except all from {copy})"
            ).fetchall()[0][0]
            row["only_incremental"] = con.execute(
                f"select count(*) from (from {copy} except all from {table})"
            ).fetchall()[0][0]
            row["incremental_rows"] = incremental[0]
            row["float_noise_only"] = same_rows(
                con,
                normalised_select(con, table, sort_lists=False),
                normalised_select(con, copy, sort_lists=False),
            )
            row["list_order_only"] = not row["float_noise_only"] and same_rows(
                con,
                normalised_select(con, table, sort_lists=True),
                normalised_select(con, copy, sort_lists=True),
            )
        out.append(row)
    return out


# -- 5. the analyst's way ---------------------------------------------------------------


def pandas_performance_index(
    con: duckdb.DuckDBPyConnection,
) -> tuple[pd.DataFrame, float, float]:
    """Views in days 0-6 and the performance index, the way an analyst writes it in pandas:
    read the daily rows and the posts, group, then loop over items for their peers."""
    started = time.perf_counter()
    daily = con.sql(
        "select account_id, item_id, date, views from staging.stg_youtube__video_daily"
    ).df()
    posts = con.sql(
        "select account_id, item_id, format, published_at, published_date from marts.posts"
    ).df()
    read_s = time.perf_counter() - started

    daily = daily.merge(
        posts[["account_id", "item_id", "published_date"]], on=["account_id", "item_id"]
    )
    daily["age_days"] = (
        pd.to_datetime(daily["date"]) - pd.to_datetime(daily["published_date"])
    ).dt.days
    last_date = daily.groupby("account_id")["date"].max()
    d7 = daily[daily["age_days"] <= 6].groupby(["account_id", "item_id"])["views"].sum()
    items = posts.merge(
        d7.rename("first_7d").reset_index(), on=["account_id", "item_id"], how="left"
    )
    items = items[items["account_id"].isin(last_date.index)].reset_index(drop=True)
    items["age_days"] = (
        pd.to_datetime(items["account_id"].map(last_date)) - pd.to_datetime(items["published_date"])
    ).dt.days
    items["views_d7"] = items["first_7d"].fillna(0).where(items["age_days"] >= 6)

    window = pd.Timedelta(days=180)
    portfolio = {fmt: group for fmt, group in items.groupby("format")}
    peer_median = pd.Series(np.nan, index=items.index)
    for (_, fmt), group in items.groupby(["account_id", "format"]):
        for row in group.itertuples():
            since = row.published_at - window
            peers = group.loc[
                (group["published_at"] >= since) & (group["published_at"] < row.published_at),
                "views_d7",
            ].dropna()
            if len(peers) < 5:
                pool = portfolio[fmt]
                peers = pool.loc[
                    (pool["published_at"] >= since) & (pool["published_at"] < row.published_at),
                    "views_d7",
                ].dropna()
            if len(peers) >= 5:
                peer_median[row.Index] = peers.median()
    items["peer_median_d7"] = peer_median
    items["performance_index"] = np.log((items["views_d7"] + 1) / (items["peer_median_d7"] + 1))
    return items, read_s, time.perf_counter() - started


def compare_index(con: duckdb.DuckDBPyConnection, items: pd.DataFrame) -> dict[str, Any]:
    sql = con.sql(
        "select account_id, item_id, views_d7, performance_index from marts.post_performance"
    ).df()
    both = items[["account_id", "item_id", "views_d7", "performance_index"]].merge(
        sql, on=["account_id", "item_id"], how="outer", suffixes=("_pandas", "_sql"), indicator=True
    )
    a, b = both["performance_index_pandas"], both["performance_index_sql"]
    known = a.notna() & b.notna()
    diff = (a - b).abs()
    mismatch = (both["_merge"] != "both") | (a.isna() != b.isna()) | (known & (diff > 1e-9))
    d7_mismatch = both["views_d7_pandas"].fillna(-1) != both["views_d7_sql"].fillna(-1)
    return {
        "items": len(both),
        "indexed": int(known.sum()),
        "max_abs_diff": float(diff[known].max()) if known.any() else 0.0,
        "mismatches": int(mismatch.sum()),
        "views_d7_mismatches": int(d7_mismatch.sum()),
        "sample": both[mismatch].head(5).astype(str).to_dict("records"),
    }


# -- phases (each in its own process) ---------------------------------------------------


def warehouse_path(workdir: Path) -> Path:
    return workdir / "warehouse.duckdb"


def models_copy(workdir: Path) -> Path:
    return workdir / "models"


def build_phase(workdir: Path, *, full: bool, threads: int | None) -> dict[str, Any]:
    with open_warehouse(warehouse_path(workdir)) as con:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() where name in ('threads', 'memory_limit')"
            ).fetchall()
        )
        before = peak_mib()
        load, cpu = os.getloadavg()[0], cpu_seconds()
        # the identity step the pipeline hands in (models import nothing above the kernel)
        context = BuildContext(identity=warehouse_families)
        summary = build(con, models_copy(workdir), full=full, context=context)
        cpu = cpu_seconds() - cpu
    return {
        "cpu_s": cpu,
        "load_avg": load,
        "seconds": summary.seconds,
        "mode": summary.mode,
        "since": str(summary.since),
        "models": summary.models,
        "rows": summary.rows,
        "seconds_by_model": summary.seconds_by_model,
        "threads": settings.get("threads"),
        "memory_limit": settings.get("memory_limit"),
        "rss_before_mib": before,
    }


def run_phase(phase: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    if phase == "generate":
        path = warehouse_path(workdir)
        for stale in (path, path.with_suffix(".duckdb.wal")):
            stale.unlink(missing_ok=True)
        shutil.rmtree(models_copy(workdir), ignore_errors=True)
        # the whole folder: Python models may read files beside them (seeds/)
        shutil.copytree(
            MODELS_DIR, models_copy(workdir), ignore=shutil.ignore_patterns("__pycache__")
        )
        started = time.perf_counter()
        with open_warehouse(path) as con:
            con.execute("begin transaction")
            counts = generate_history(con, args.videos, args.days, args.seed)
            con.execute("commit")
            con.execute("checkpoint")
        return {"seconds": time.perf_counter() - started, "counts": counts}
    if phase == "full":
        return build_phase(workdir, full=True, threads=None)
    if phase == "full_threads":
        return build_phase(workdir, full=True, threads=2)
    if phase == "night_land":
        started = time.perf_counter()
        with open_warehouse(warehouse_path(workdir)) as con:
            con.execute("begin transaction")
            counts = land_night(con, args.seed)
            con.execute("commit")
        return {"seconds": time.perf_counter() - started, "counts": counts}
    if phase == "night":
        return build_phase(workdir, full=False, threads=None)
    if phase == "keep":
        started = time.perf_counter()
        with open_warehouse(warehouse_path(workdir)) as con:
            con.execute(f"drop schema if exists {KEPT} cascade")
            con.execute(f"create schema {KEPT}")
            for table in built_tables(con):
                con.execute(f"create table {KEPT}.{table.replace('.', '__')} as from {table}")
        return {"seconds": time.perf_counter() - started}
    if phase == "rebuild":
        return build_phase(workdir, full=True, threads=None)
    if phase == "compare":
        started = time.perf_counter()
        with open_warehouse(warehouse_path(workdir)) as con:
            tables = compare_tables(con)
            con.execute(f"drop schema if exists {KEPT} cascade")
        return {"seconds": time.perf_counter() - started, "tables": tables}
    if phase == "pandas":
        load, cpu = os.getloadavg()[0], cpu_seconds()
        with connect(warehouse_path(workdir), read_only=True) as con:
            items, read_s, seconds = pandas_performance_index(con)
            cpu = cpu_seconds() - cpu
            comparison = compare_index(con, items)
        return {"seconds": seconds, "read_s": read_s, "cpu_s": cpu, "load_avg": load, **comparison}
    raise ValueError(f"unknown phase {phase!r}")


def phase_main(args: argparse.Namespace) -> None:
    workdir = Path(args.dir)
    result = run_phase(args.phase, args, workdir)
    result["peak_mib"] = peak_mib()
    (workdir / f"{args.phase}.json").write_text(json.dumps(result, default=str), encoding="utf-8")


# -- the orchestrating process ----------------------------------------------------------


@dataclass
class Phase:
    name: str
    ok: bool
    wall: float  # the subprocess, interpreter start and imports included
    result: dict[str, Any]
    error: str = ""


def spawn(phase: str, args: argparse.Namespace, workdir: Path) -> Phase:
    (workdir / f"{phase}.json").unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase]
    command += ["--dir", str(workdir), "--videos", str(args.videos), "--days", str(args.days)]
    command += ["--seed", str(args.seed)]
    started = time.perf_counter()
    proc = subprocess.run(command, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        print(f"!! phase {phase} failed (exit {proc.returncode}):\n" + "\n".join(lines[-15:]))
        return Phase(phase, False, wall, {}, lines[-1] if lines else f"exit {proc.returncode}")
    return Phase(phase, True, wall, json.loads((workdir / f"{phase}.json").read_text("utf-8")))


def print_build(title: str, phase: Phase) -> None:
    r = phase.result
    print(f"\n== {title} ==")
    if not phase.ok:
        print(f"failed: {phase.error}")
        return
    print(
        f"build {r['seconds']:.2f} s (mode {r['mode']}, since {r['since']}, {r['models']} models; "
        f"DuckDB threads {r['threads']}, memory_limit {r['memory_limit']}); "
        f"peak RSS {r['peak_mib']:,.0f} MiB (process before the build {r['rss_before_mib']:,.0f} MiB)"
    )
    print(
        f"CPU {r['cpu_s']:.1f} s user+sys ({r['cpu_s'] / r['seconds']:.2f} cores busy on average); "
        f"load average at the start {r['load_avg']:.2f} on {os.cpu_count()} cores"
    )
    print(f"  {'model':<44} {'seconds':>8} {'share':>6} {'rows':>12}")
    for model, seconds in sorted(r["seconds_by_model"].items(), key=lambda kv: -kv[1]):
        rows = r["rows"].get(model)
        print(
            f"  {model:<44} {seconds:8.2f} {seconds / r['seconds']:6.0%} "
            f"{'(view)' if rows is None else f'{rows:,}':>12}"
        )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", help="work here and keep the warehouse (default: a temp dir)")
    ap.add_argument("--phase", choices=_PHASES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        phase_main(args)
        return 0

    with tempfile.TemporaryDirectory(prefix="models_bench_") as tmp:
        workdir = Path(args.dir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        return bench(args, workdir)


def bench(args: argparse.Namespace, workdir: Path) -> int:
    phases: dict[str, Phase] = {}
    print(
        f"\n== generate: {len(CHANNELS)} channels, {args.videos:,} videos (35 % Shorts), "
        f"{args.days} days up to {END} =="
    )
    g = phases["generate"] = spawn("generate", args, workdir)
    if not g.ok:
        return 1
    counts = g.result["counts"]
    print(
        f"{g.result['seconds']:.1f} s, peak RSS {g.result['peak_mib']:,.0f} MiB; "
        f"{counts['video_days']:,} video-days of which {counts['content_daily']:,} with views "
        f"(content_daily rows); {counts['traffic_daily']:,} traffic_daily, "
        f"{counts['account_daily']:,} account_daily, {counts['content_items']:,} content_items, "
        f"{counts['extract_log']:,} extract_log rows; {counts['landing_files']:,} landing files; "
        f"warehouse {warehouse_path(workdir).stat().st_size / 2**20:,.0f} MiB"
    )

    phases["full"] = spawn("full", args, workdir)
    print_build("full rebuild: build(con, full=True), DuckDB's default threads", phases["full"])
    phases["full_threads"] = spawn("full_threads", args, workdir)
    print_build("full rebuild again with `set threads = 2`", phases["full_threads"])

    print(f"\n== the next night lands ({NIGHT}, {LOOKBACK_DAYS} days re-read) ==")
    n = phases["night_land"] = spawn("night_land", args, workdir)
    if n.ok:
        c = n.result["counts"]
        print(
            f"{n.result['seconds']:.1f} s: {c['content_daily']:,} content_daily rows "
            f"(restated + new day), {c['content_items']:,} content_items (all re-listed, "
            f"{c['new_uploads']} new), {c['traffic_daily']:,} traffic_daily, "
            f"{c['account_daily']:,} account_daily; {c['landing_files']} landing files"
        )
        phases["night"] = spawn("night", args, workdir)
        print_build("incremental night: build(con)", phases["night"])
        phases["keep"] = spawn("keep", args, workdir)
        phases["rebuild"] = spawn("rebuild", args, workdir)
        print_build("full rebuild on the same data (for the comparison)", phases["rebuild"])
        phases["compare"] = spawn("compare", args, workdir)

    same = True
    nondeterministic: list[str] = []  # tables equal only up to float rounding or list order
    print("\n== incremental night vs full rebuild, table by table ==")
    cmp = phases.get("compare")
    if cmp and cmp.ok:
        for t in cmp.result["tables"]:
            detail = ""
            if not t["identical"]:
                if t.get("float_noise_only"):
                    why = "equal to 10 significant digits: float summation order"
                    nondeterministic.append(t["table"])
                elif t.get("list_order_only"):
                    why = "equal once lists are sorted: a list() without ORDER BY"
                    nondeterministic.append(t["table"])
                else:
                    why = "they differ beyond float rounding and list order"
                    same = False
                detail = t.get("note") or (
                    f" (full {t['rows']:,} rows, incremental {t['incremental_rows']:,}; "
                    f"{t['only_full']:,} rows only in full, {t['only_incremental']:,} only in "
                    f"incremental; {why})"
                )
            rows = f"{t['rows']:,} rows" if "rows" in t else ""
            print(
                f"  {t['table']:<44} {rows:>16}  identical: {'yes' if t['identical'] else 'no'}{detail}"
            )
    else:
        same = False
        print("not compared (a phase before failed)")

    print("\n== the performance index in plain pandas ==")
    index_same = False
    p = phases["pandas"] = spawn("pandas", args, workdir)
    full = phases["full"]
    if p.ok:
        r = p.result
        print(
            f"pandas: read {r['read_s']:.2f} s + compute {r['seconds'] - r['read_s']:.2f} s "
            f"= {r['seconds']:.2f} s (CPU {r['cpu_s']:.1f} s, load average at the start "
            f"{r['load_avg']:.2f}), peak RSS {r['peak_mib']:,.0f} MiB; {r['items']:,} items, "
            f"{r['indexed']:,} with an index; mismatches {r['mismatches']} "
            f"(views_d7 mismatches {r['views_d7_mismatches']})"
        )
        for row in r["sample"]:
            print(f"  mismatch: {row}")
        index_same = not (r["mismatches"] or r["views_d7_mismatches"])
    if full.ok and p.ok:
        by_model = full.result["seconds_by_model"]
        pp = by_model.get("marts.post_performance", float("nan"))
        path = pp + by_model.get("marts.post_daily", float("nan"))
        print(
            f"performance index: contentpulse SQL {full.result['seconds']:.2f} s (whole rebuild; "
            f"post_performance alone {pp:.2f} s, with post_daily {path:.2f} s) vs pandas "
            f"{p.result['seconds']:.2f} s; max |diff| {p.result['max_abs_diff']:.3g}"
        )

    summary(args, phases, same, index_same, nondeterministic)
    failed = [name for name, ph in phases.items() if not ph.ok]
    return 1 if failed or not (same and index_same) else 0


def print_ratios(phases: dict[str, Phase]) -> None:
    """Issue 20's ratios, of wall and of CPU seconds: on a shared machine the CPU ones say
    more about the code, the wall ones what a user waits."""
    full, night, pandas = (phases.get(n) for n in ("full", "night", "pandas"))
    if not (full and full.ok):
        return
    f = full.result
    if pandas and pandas.ok:
        p = pandas.result
        print(
            f"  full rebuild / pandas' one index: {f['seconds'] / p['seconds']:.2f}x wall, "
            f"{f['cpu_s'] / p['cpu_s']:.2f}x CPU (goal <= {GOAL_FULL_VS_PANDAS:.1f}x)"
        )
    if night and night.ok:
        n = night.result
        print(
            f"  incremental night / full rebuild: {n['seconds'] / f['seconds']:.1%} wall, "
            f"{n['cpu_s'] / f['cpu_s']:.1%} CPU (goal <= {GOAL_NIGHT_SHARE:.0%} and "
            f"< {GOAL_NIGHT_S} s: {n['seconds']:.2f} s)"
        )
    print(f"  full rebuild peak: {f['peak_mib']:,.0f} MiB (goal < {GOAL_PEAK_MIB:,} MiB)")


def summary(
    args: argparse.Namespace,
    phases: dict[str, Phase],
    same: bool,
    index_same: bool,
    nondeterministic: list[str],
) -> None:
    """Every figure in one block, with the goals beside them (stated, not asserted)."""
    full = phases.get("full")
    night_goal = f"{full.result['seconds'] * GOAL_NIGHT_SHARE:.2f} s" if full and full.ok else "n/a"
    gen = phases["generate"].result
    print(
        f"\n== summary: {args.videos:,} videos x {args.days} days, {len(CHANNELS)} channels, "
        f"{gen['counts']['content_daily']:,} content_daily rows (generated in "
        f"{gen['seconds']:.1f} s); {os.cpu_count()} cores =="
    )
    print(f"  {'':<30} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'load':>5}  goal")
    rows = [
        ("full rebuild", "full", f"<= pandas' time, peak < {GOAL_PEAK_MIB:,} MiB (2 GiB)"),
        ("full rebuild, threads = 2", "full_threads", "as above"),
        (
            "incremental night",
            "night",
            f"<= {night_goal} ({GOAL_NIGHT_SHARE:.0%} of the full rebuild) and < {GOAL_NIGHT_S} s",
        ),
        ("full rebuild after the night", "rebuild", ""),
        ("performance index in pandas", "pandas", ""),
    ]
    for label, name, goal in rows:
        ph = phases.get(name)
        if not (ph and ph.ok):
            print(f"  {label:<30} {'n/a':>8}")
            continue
        r = ph.result
        print(
            f"  {label:<30} {r['seconds']:8.2f} {r['cpu_s']:8.1f} {r['peak_mib']:9,.0f} "
            f"{r['load_avg']:5.2f}  {goal}"
        )
    night = phases.get("night")
    print(f"  night build mode: {night.result['mode'] if night and night.ok else 'n/a'}")
    print_ratios(phases)
    p = phases.get("pandas")
    if p and p.ok:
        print(
            f"  performance index, pandas vs marts.post_performance: max |diff| "
            f"{p.result['max_abs_diff']:.3g}, mismatches {p.result['mismatches']} "
            f"-> {'same' if index_same else 'DIFFERENT'}"
        )
    print(
        f"  incremental night == full rebuild: {'yes' if same else 'no'}"
        + (
            f" (up to float summation order or list order in {len(nondeterministic)} tables: "
            f"{', '.join(nondeterministic)})"
            if nondeterministic
            else ""
        )
    )
    failed = [name for name, ph in phases.items() if not ph.ok]
    print(f"  phases failed: {', '.join(failed) or 'none'}")
    print(
        "  (wall times depend on what else runs on the machine: CPU s and the load average "
        "at each phase's start say how much of it the phase had)"
    )


if __name__ == "__main__":
    sys.exit(main())
