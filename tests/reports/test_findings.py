"""Headline findings and decisions on tiny hand-made snapshots with known answers.

Each test writes the few mart rows a rule reads into a fresh DuckDB file, opens it the way
the report does (read-only, as a published snapshot) and pins the exact sentences and
figures the rules produce. The week is 2026-W47: Mon 16 to Sun 22 November 2026.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from contentpulse.warehouse import open_snapshot
from reports.findings import Decision, Findings, findings

WEEK_START, WEEK_END = date(2026, 11, 16), date(2026, 11, 22)
W45, W46, W47 = date(2026, 11, 2), date(2026, 11, 9), WEEK_START
RIO, NORTH, KUMO = "UC_RIO", "UC_NORTH", "UC_KUMO"
NAMES = {RIO: "Rio Explains", NORTH: "Northwind News", KUMO: "Kumo Kitchen 雲"}

DDL = """
create schema marts;
create schema staging;
create table marts.segment_effects (
    platform varchar, format varchar, dimension varchar, segment varchar, items bigint,
    shrunk_effect double, effect_lower_80 double, effect_upper_80 double,
    recommendation varchar, group_items bigint
);
create table marts.posts (
    platform varchar, account_id varchar, account_name varchar, item_id varchar,
    title varchar, format varchar, length_bucket varchar, topic varchar,
    published_date date, publish_weekday varchar, publish_daypart varchar
);
create table marts.post_performance (
    platform varchar, account_id varchar, item_id varchar, format varchar,
    published_date date, views_d7 bigint, peer_median_d7 double, peer_group varchar,
    performance_index double
);
create table marts.account_weekly (
    platform varchar, account_id varchar, account_name varchar, week_start date,
    iso_week varchar, is_complete boolean, views bigint, views_prev_week bigint,
    views_estimated bigint
);
create table marts.anomalies (
    level varchar, platform varchar, account_id varchar, item_id varchar, date date,
    direction varchar, views bigint, expected_views double, robust_z double,
    age_days integer, driver_source varchar, driver_views_change double
);
create table marts.content_performance (
    family_id varchar, best_platform varchar, best_item_id varchar,
    best_account_name varchar, best_format varchar, best_performance_index double,
    missing_formats varchar[], missing_accounts varchar[], is_repurposing_candidate boolean
);
create table marts.data_quality (
    platform varchar, account_id varchar, date date, last_complete_date date,
    is_provisional boolean, items_restated bigint, last_extracted_at timestamptz
);
create table staging.stg_youtube__traffic_daily (
    platform varchar, account_id varchar, item_id varchar, date date, source varchar,
    views bigint
);
"""


class Snapshot:
    """A published snapshot written by hand: the mart rows a test needs, nothing else."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.con = duckdb.connect(str(path))
        self.con.execute(DDL)

    def post(
        self,
        item_id: str,
        published: date,
        index: float | None,
        *,
        topic: str = "river cleanup",
        fmt: str = "short",
        account: str = RIO,
        title: str | None = None,
        views_d7: int | None = None,
        peer_median_d7: float = 1000.0,
    ) -> None:
        if views_d7 is None and index is not None:  # consistent with the index by default
            views_d7 = round((peer_median_d7 + 1) * math.exp(index) - 1)
        self.con.execute(
            "insert into marts.posts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                "youtube",
                account,
                NAMES[account],
                item_id,
                title or f"title {item_id}",
                fmt,
                "under_1m" if fmt == "short" else "5_to_20m",
                topic,
                published,
                f"{published:%a}",
                "morning",
            ],
        )
        self.con.execute(
            "insert into marts.post_performance values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                "youtube",
                account,
                item_id,
                fmt,
                published,
                views_d7,
                peer_median_d7,
                "account_format",
                index,
            ],
        )

    def segment(
        self,
        segment: str,
        effect: float,
        lower: float,
        upper: float,
        items: int,
        recommendation: str,
        *,
        fmt: str = "short",
        dimension: str = "topic",
        platform: str = "youtube",
    ) -> None:
        self.con.execute(
            "insert into marts.segment_effects values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [platform, fmt, dimension, segment, items, effect, lower, upper, recommendation, 100],
        )

    def week(
        self,
        account: str,
        views: int,
        prev: int,
        *,
        complete: bool = True,
        prev_complete: bool = True,
        estimated: int = 0,
        prev_estimated: int = 0,
    ) -> None:
        """The report week's row and the week before's (both complete and measured unless
        said)."""
        before = WEEK_START - timedelta(days=7)
        name = NAMES[account]
        rows = [
            ("youtube", account, name, WEEK_START, "2026-W47", complete, views, prev, estimated),
            (
                "youtube",
                account,
                name,
                before,
                "2026-W46",
                prev_complete,
                prev,
                None,
                prev_estimated,
            ),
        ]
        for row in rows:
            self.con.execute(
                "insert into marts.account_weekly values (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row)
            )

    def sql(self, statement: str, params: list | None = None) -> None:
        self.con.execute(statement, params or [])

    def findings(self) -> Findings:
        self.con.close()
        with open_snapshot(self.path) as con:
            return findings(con, WEEK_START, WEEK_END)


@pytest.fixture
def snapshot(tmp_path: Path) -> Snapshot:
    return Snapshot(tmp_path / "analytics.duckdb")


def known_winner(snap: Snapshot, *, w46_bus_index: float = 0.9, w45_bus: bool = True) -> None:
    """Shorts about electric buses beat every week; Shorts about coffee prices trail.

    Weekly medians of the portfolio (all indexed items): W45 0.0, W46 0.1, W47 0.0. Buses
    beat them by 1.0, 0.8 and 0.8 (mean 0.87); coffee trails by 0.6, 0.6, 0.4 (mean 0.53).
    """
    snap.segment("electric buses", 1.15, 0.83, 1.46, 14, "invest")
    snap.segment("coffee prices", -0.83, -1.19, -0.48, 10, "avoid")
    snap.segment("river cleanup", 0.2, -0.1, 0.5, 11, "unclear")
    weeks = [(W45, 1.0, -0.6, 0.0), (W46, w46_bus_index, -0.5, 0.1), (W47, 0.8, -0.4, 0.0)]
    for monday, bus, coffee, river in weeks:
        tag = f"{monday:%m%d}"
        if w45_bus or monday != W45:
            snap.post(f"bus{tag}", monday + timedelta(days=1), bus, topic="electric buses")
        else:  # the week still needs a median of 0.0 without a bus post
            snap.post(f"other{tag}", monday + timedelta(days=1), 0.0, topic="solar farms")
        snap.post(f"coffee{tag}", monday + timedelta(days=2), coffee, topic="coffee prices")
        snap.post(f"river{tag}", monday, river, topic="river cleanup", fmt="video")


WINNER_RUNNING = (
    "Shorts about electric buses beat the portfolio median index by 0.87 on average three "
    "weeks running (2026-W45 to 2026-W47), and the average Short by +1.15 over all 14 posts "
    "(about 3.2x a typical Short's day-7 views; 80 % interval +0.83 to +1.46)."
)
WINNER_LIFETIME = (
    "Shorts about electric buses beat the average Short by +1.15 on the performance index "
    "(about 3.2x a typical Short's day-7 views; 80 % interval +0.83 to +1.46, 14 posts)."
)


def test_known_winner_is_the_headline_three_weeks_running(snapshot):
    known_winner(snapshot)
    result = snapshot.findings()
    assert result.headline is not None
    assert result.headline.rule == "segment_winner"
    assert result.headline.text == WINNER_RUNNING
    assert [round(w["margin"], 6) for w in result.headline.evidence["weeks"]] == [1.0, 0.8, 0.8]
    assert [w["posts"] for w in result.headline.evidence["weeks"]] == [1, 1, 1]
    assert result.headline.evidence["times_typical"] == pytest.approx(math.exp(1.15))
    loser = next(f for f in result.supporting if f.rule == "segment_loser")
    assert loser.text == (
        "Shorts about coffee prices trailed the portfolio median index by 0.53 on average "
        "three weeks running (2026-W45 to 2026-W47), and the average Short by -0.83 over all "
        "10 posts (about 0.44x a typical Short's day-7 views; 80 % interval -1.19 to -0.48)."
    )
    assert result.decisions == [
        Decision("Make more Shorts about electric buses", "segment_winner"),
        Decision("Make fewer Shorts about coffee prices", "segment_loser"),
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"w46_bus_index": 0.35}, id="beat-by-only-0.25-in-one-week"),
        pytest.param({"w45_bus": False}, id="no-post-in-one-week"),
    ],
)
def test_three_weeks_running_needs_each_week_to_beat_the_portfolio(snapshot, change):
    known_winner(snapshot, **change)
    result = snapshot.findings()
    # coffee prices still trailed every week: a sustained finding outranks a lifetime one
    assert result.headline.rule == "segment_loser"
    assert result.headline.evidence["weeks_running"] is True
    winner = next(f for f in result.supporting if f.rule == "segment_winner")
    assert winner.text == WINNER_LIFETIME
    assert winner.evidence["weeks_running"] is False and winner.evidence["weeks"] == []


def test_unclear_segments_are_not_findings(snapshot):
    snapshot.segment("river cleanup", 0.2, -0.1, 0.5, 11, "unclear")
    snapshot.segment("untagged", 0.9, 0.5, 1.3, 30, "invest")
    snapshot.post("a", W47, 1.0, topic="river cleanup")
    result = snapshot.findings()
    assert [f.rule for f in result.supporting] == []
    assert result.headline is not None and result.headline.rule == "best_post"


def test_an_empty_snapshot_yields_nothing(snapshot):
    assert snapshot.findings() == Findings(headline=None, supporting=[], decisions=[])


def test_best_post_names_its_first_week_top_traffic_source(snapshot):
    snapshot.post("early", date(2026, 11, 8), 2.5)  # day 7 on 14 Nov: the week before
    snapshot.post("late", date(2026, 11, 17), 2.5)  # day 7 on 23 Nov: the week after
    snapshot.post("ok", date(2026, 11, 12), 0.4, account=NORTH)
    snapshot.post(
        "star", date(2026, 11, 10), math.log(3.1), views_d7=3099, peer_median_d7=999, fmt="video"
    )
    traffic = [
        ("star", date(2026, 11, 10), "SUBSCRIBER", 300),
        ("star", date(2026, 11, 12), "YT_SEARCH", 600),
        ("star", date(2026, 11, 16), "RELATED_VIDEO", 100),
        ("star", date(2026, 11, 17), "SUBSCRIBER", 9000),  # day 7: after the first week
    ]
    for item_id, day, source, views in traffic:
        snapshot.sql(
            "insert into staging.stg_youtube__traffic_daily values ('youtube', ?, ?, ?, ?, ?)",
            [RIO, item_id, day, source, views],
        )
    result = snapshot.findings()
    assert result.headline.rule == "best_post"
    assert result.headline.text == (
        "'title star' (a video on Rio Explains) drew 3.1x its typical first-week views "
        "(index +1.13; 3,099 views vs a typical 999); its top traffic source was YouTube "
        "search (60 % of first-week views)."
    )
    assert result.headline.evidence["top_source_share"] == pytest.approx(0.6)


def test_best_post_without_sources_and_below_typical(snapshot):
    snapshot.post("meh", date(2026, 11, 12), -0.2)
    assert snapshot.findings().headline is None  # the week's best was below typical

    snap = Snapshot(snapshot.path.with_name("other.duckdb"))
    snap.post("fine", date(2026, 11, 12), math.log(2), views_d7=1999, peer_median_d7=999)
    assert snap.findings().headline.text == (
        "'title fine' (a Short on Rio Explains) drew 2.0x its typical first-week views "
        "(index +0.69; 1,999 views vs a typical 999)."
    )


def test_hostile_title_kept_verbatim_and_long_title_truncated(snapshot):
    hostile = "<script>alert('x')</script> & \"quotes\""
    long_title = "Why the night train came back: " + "a very long story " * 5
    snapshot.post("evil", date(2026, 11, 12), 2.0, title=hostile)
    snapshot.sql(
        "insert into marts.anomalies values "
        "('item', 'youtube', ?, 'long', ?, 'spike', 900, 99, 8.0, 20, null, null)",
        [RIO, date(2026, 11, 18)],
    )
    snapshot.post("long", date(2026, 10, 1), None, title=long_title)
    result = snapshot.findings()
    assert result.headline.text.startswith(f"'{hostile}' (a Short on Rio Explains)")
    anomaly = next(f for f in result.supporting if f.rule == "anomaly")
    shown = long_title[:59].rstrip() + "…"
    assert len(shown) == 60
    assert anomaly.text == (
        f"Views of '{shown}' on Rio Explains spiked to 900 on Wed 18 Nov, 9.1x the expected "
        "99 (robust z +8.0)."
    )
    assert anomaly.evidence["title"] == long_title  # the evidence keeps the whole title


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        pytest.param(
            [(RIO, 412_000, 349_000, True), (NORTH, 80_000, 75_000, True)],
            "Views rose 16 % week over week across the portfolio (492,000 vs 424,000), led by "
            "Rio Explains (up 18 %: 412,000 vs 349,000).",
            id="portfolio",
        ),
        pytest.param(
            [(RIO, 330_000, 349_000, True), (NORTH, 90_000, 75_000, True)],
            "Views rose 20 % week over week on Northwind News (90,000 vs 75,000).",
            id="portfolio-flat-one-account-moved",
        ),
        pytest.param(
            [(RIO, 370_000, 349_000, True), (NORTH, 80_000, 75_000, True)],
            None,
            id="under-10-percent",
        ),
        pytest.param(
            [(RIO, 200_000, 349_000, False)],
            None,
            id="incomplete-week",
        ),
        pytest.param(
            [(RIO, 400_000, 200_000, True, False)],
            None,
            id="incomplete-week-before",
        ),
    ],
)
def test_kpi_move_needs_ten_percent_on_a_complete_week(snapshot, weeks, expected):
    for account, views, prev, complete, *prev_complete in weeks:
        snapshot.week(account, views, prev, complete=complete, prev_complete=all(prev_complete))
    result = snapshot.findings()
    moves = [f for f in [result.headline, *result.supporting] if f and f.rule == "kpi_move"]
    assert [f.text for f in moves] == ([expected] if expected else [])


@pytest.mark.parametrize("estimated, prev_estimated", [(5_000, 0), (0, 5_000)])
def test_kpi_move_is_never_drawn_from_an_estimated_week(snapshot, estimated, prev_estimated):
    """A week whose views include an estimate (posts' views split between two reads) says
    nothing week over week, on its own or in the portfolio's total."""
    snapshot.week(RIO, 400_000, 200_000, estimated=estimated, prev_estimated=prev_estimated)
    snapshot.week(NORTH, 90_000, 75_000)
    result = snapshot.findings()
    moves = [f for f in [result.headline, *result.supporting] if f and f.rule == "kpi_move"]
    assert [f.text for f in moves] == [
        "Views rose 20 % week over week on Northwind News (90,000 vs 75,000)."
    ]


def test_anomaly_is_the_weeks_largest_with_its_driver(snapshot):
    rows = [
        ("account", "", date(2026, 11, 19), "drop", 1200, 3000.0, -6.2, "YT_SEARCH", -1500.0),
        ("item", "v1", date(2026, 11, 20), "spike", 700, 100.0, 5.1, "EXT_URL", 550.0),
        ("account", "", date(2026, 11, 14), "spike", 9000, 3000.0, 20.0, None, None),
    ]
    for level, item_id, day, direction, views, expected, z, source, change in rows:
        snapshot.sql(
            "insert into marts.anomalies values (?, 'youtube', ?, ?, ?, ?, ?, ?, ?, null, ?, ?)",
            [level, NORTH, item_id, day, direction, views, expected, z, source, change],
        )
    snapshot.post("v1", date(2026, 10, 1), None, account=NORTH)  # names the account
    result = snapshot.findings()
    assert result.headline.rule == "anomaly"
    assert result.headline.text == (
        "Views on Northwind News dropped to 1,200 on Thu 19 Nov, 0.40x the expected 3,000 "
        "(robust z -6.2), driven by YouTube search (-1,500 views against its 28-day daily "
        "average)."
    )


def test_repurposing_names_missing_accounts_and_decides(snapshot):
    snapshot.post("hit", date(2026, 11, 2), 1.2, title="Bus depot tour", account=NORTH)
    snapshot.post("k1", date(2026, 10, 1), None, account=KUMO)
    snapshot.sql(
        "insert into marts.content_performance values "
        "('f1', 'youtube', 'hit', 'Northwind News', 'short', 1.2, ['video'], "
        " ['youtube:UC_KUMO', 'youtube:UC_GONE'], true), "
        # stronger, but its day-7 index was not known by the end of the week
        "('f2', 'youtube', 'new', 'Northwind News', 'short', 3.0, ['video'], [], true), "
        # strongest, but not a candidate
        "('f3', 'youtube', 'hit', 'Northwind News', 'short', 5.0, [], [], false)"
    )
    snapshot.post("new", date(2026, 11, 20), None, account=NORTH)
    result = snapshot.findings()
    assert result.headline.rule == "repurposing"
    assert result.headline.text == (
        "'Bus depot tour' (a Short on Northwind News, 3.3x its typical first-week views, "
        "index +1.20) has no video and is not on Kumo Kitchen 雲 or youtube:UC_GONE yet."
    )
    assert result.decisions == [
        Decision(
            "Repurpose 'Bus depot tour' as a video, and for Kumo Kitchen 雲 and youtube:UC_GONE",
            "repurposing",
        )
    ]


def test_data_quality_is_a_short_low_note(snapshot):
    for account, last in ((RIO, WEEK_END), (NORTH, date(2026, 11, 18))):
        for offset in range(7):
            day = WEEK_START + timedelta(days=offset)
            if day > last:
                continue
            snapshot.sql(
                "insert into marts.data_quality values ('youtube', ?, ?, ?, ?, ?, null)",
                [account, day, last, day >= last - timedelta(days=1), 2 if offset == 1 else 0],
            )
        snapshot.post(f"p{account}", date(2026, 10, 1), None, account=account)
    result = snapshot.findings()
    assert result.headline is None  # a data note is never the headline
    [note] = result.supporting
    assert note.rule == "data_quality" and note.score < 1
    assert note.text == (
        "Tue 17 Nov, Wed 18 Nov, Sat 21 Nov and Sun 22 Nov are still provisional on both "
        "accounts; the platform restated 4 item-days on both accounts; Northwind News has no "
        "complete day after Wed 18 Nov."
    )
    assert note.evidence["stale_accounts"] == {"Northwind News": "2026-11-18"}
    json.dumps(note.evidence, allow_nan=False)


def test_an_account_the_last_run_did_not_read_is_named(snapshot):
    for account, read_at in ((RIO, "2026-11-23 03:40:00+00"), (NORTH, "2026-11-22 03:35:00+00")):
        for offset in range(7):
            snapshot.sql(
                "insert into marts.data_quality values ('youtube', ?, ?, ?, false, 0, ?)",
                [account, WEEK_START + timedelta(days=offset), WEEK_END, read_at],
            )
        snapshot.post(f"p{account}", date(2026, 10, 1), None, account=account)
    [note] = snapshot.findings().supporting
    assert note.text == "Northwind News was not refreshed by the last run (last read Sun 22 Nov)."
    assert note.evidence["not_refreshed"] == {"Northwind News": "2026-11-22T03:35:00+00:00"}


def test_one_finding_per_rule_at_most_five_supporting_and_two_decisions(snapshot):
    known_winner(snapshot)
    snapshot.segment("electric buses", 0.66, 0.38, 0.95, 21, "invest", fmt="video")
    snapshot.week(RIO, 412_000, 349_000)
    snapshot.sql(
        "insert into marts.anomalies values "
        "('account', 'youtube', ?, '', ?, 'spike', 9000, 3000, 5.0, null, null, null)",
        [RIO, date(2026, 11, 18)],
    )
    snapshot.sql(
        "insert into marts.content_performance values "
        "('f1', 'youtube', 'bus1102', 'Rio Explains', 'short', 1.0, ['video'], [], true)"
    )
    snapshot.sql(
        "insert into marts.data_quality values ('youtube', ?, ?, ?, true, 0, null)",
        [RIO, WEEK_END, WEEK_END],
    )
    result = snapshot.findings()
    rules = [result.headline.rule] + [f.rule for f in result.supporting]
    assert rules == [
        "segment_winner",
        "segment_loser",
        "repurposing",
        "best_post",
        "anomaly",
        "kpi_move",
    ]  # data_quality, the lowest, left out; the second invest segment never shown twice
    assert [f.score for f in result.supporting] == sorted(
        (f.score for f in result.supporting), reverse=True
    )
    assert [d.because for d in result.decisions] == ["segment_winner", "segment_loser"]
    # evidence goes into hover text as JSON: plain numbers, strings, lists and dicts only
    json.dumps([f.evidence for f in [result.headline, *result.supporting]], allow_nan=False)


def test_segment_wording_for_slots_lengths_and_several_platforms(snapshot):
    snapshot.segment("Tue morning", 0.5, 0.2, 0.8, 9, "invest", dimension="publish_slot")
    snapshot.segment(
        "over_20m", -0.6, -0.9, -0.3, 8, "avoid", dimension="length_bucket", fmt="video"
    )
    snapshot.segment("solar farms", 0.1, -0.2, 0.4, 5, "unclear", platform="tiktok")
    result = snapshot.findings()
    assert result.headline.text.startswith("YouTube videos of over 20 minutes trailed the ")
    assert result.decisions == [
        Decision("Make fewer YouTube videos of over 20 minutes", "segment_loser"),
        Decision("Publish more YouTube Shorts on Tue mornings", "segment_winner"),
    ]
