"""The weekly report's headline: findings and decisions drawn from the marts by explicit rules.

Each rule reads one query (`reports/sql/findings_<rule>.sql`) over the published snapshot
and turns its rows into findings that quote the exact figures, or into nothing when the
data is not there: no rule estimates, fills in or rounds a number into existence, and no
rule reads an estimated figure (account weeks with views_estimated, estimated post-days).

Ranking. A finding's score is its tier plus a strength in [0, 1): strength = x / (1 + x),
where x is the rule's own effect size (see each rule). Tiers order kinds of evidence:

- 3: a segment effect that also held in each of the last three publish weeks;
- 2: a segment effect whose 80 % interval is clear of zero (many posts, partially pooled);
- 1: single events: the week's best post, a week-over-week move, an anomaly, a
  repurposing candidate;
- 0: data-quality notes (the report has its own section; they fill in only when the
  week has little else to say).

The headline is the highest-scoring finding of tier 1 or more; then one finding per rule,
best first, up to five, supports it. Decisions come from the shown segment and
repurposing findings, strongest first, at most two.

Titles are untrusted platform text: they are kept verbatim here (truncated when long) and
escaped by the template that renders them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from contentpulse.registry import display_name
from reports.queries import query

log = logging.getLogger(__name__)


TIER_SUSTAINED = 3.0
TIER_PATTERN = 2.0
TIER_EVENT = 1.0
TIER_NOTE = 0.0

MAX_SUPPORTING = 5
MAX_DECISIONS = 2
# "three weeks running": the segment's weekly median index beats (or trails) the
# portfolio's by at least this much in each of the three weeks, with a post in each
RUNNING_WEEKS = 3
MIN_WEEKLY_MARGIN = 0.3
MIN_KPI_CHANGE = 0.10  # |views week over week| worth a finding
STALE_AFTER_DAYS = 3  # an account whose newest complete day is older than week end - 3
# an account last read this much before the newest read: the last run failed to read it
MISSED_RUN_HOURS = 12
TITLE_MAX = 60

# (singular, plural) as a reader names a format; unknown formats are used as they are
FORMAT_NOUNS = {
    "short": ("Short", "Shorts"),
    "video": ("video", "videos"),
    "live": ("live stream", "live streams"),
    "reel": ("Reel", "Reels"),
    "story": ("story", "stories"),
    "article": ("article", "articles"),
    "post": ("post", "posts"),
}
LENGTH_NAMES = {
    "under_1m": "under 1 minute",
    "1_to_5m": "1 to 5 minutes",
    "5_to_20m": "5 to 20 minutes",
    "over_20m": "over 20 minutes",
}
# traffic sources in plain words (YouTube's insightTrafficSourceType); others lower-cased
SOURCE_NAMES = {
    "YT_SEARCH": "YouTube search",
    "RELATED_VIDEO": "suggested videos",
    "SUBSCRIBER": "subscribers' feeds",
    "SHORTS": "the Shorts feed",
    "EXT_URL": "external sites",
    "NO_LINK_OTHER": "direct or unknown",
    "NO_LINK_EMBEDDED": "embeds",
    "YT_CHANNEL": "the channel page",
    "PLAYLIST": "playlists",
    "YT_PLAYLIST_PAGE": "playlist pages",
    "NOTIFICATION": "notifications",
    "END_SCREEN": "end screens",
    "HASHTAGS": "hashtag pages",
    "ADVERTISING": "ads",
    "PROMOTED": "promotion",
    "YT_OTHER_PAGE": "other YouTube pages",
    "SHORTS_CONTENT_LINKS": "links in Shorts",
}


@dataclass(frozen=True)
class Finding:
    rule: str  # stable rule id, e.g. "segment_winner"
    text: str  # one sentence, plain text (the template escapes it), with the exact figures
    score: float  # how strong/important; the headline is the highest
    evidence: dict  # the numbers behind it (for tests and a hover/tooltip); JSON-ready


@dataclass(frozen=True)
class Decision:
    text: str  # imperative: "Make more Shorts about electric buses"
    because: str  # rule id of the finding it comes from


@dataclass(frozen=True)
class Findings:
    headline: Finding | None
    supporting: list[Finding]  # 3-5 when the data allows
    decisions: list[Decision]  # 1-2


@dataclass(frozen=True)
class _Candidate:
    finding: Finding
    decision: str | None = None


@dataclass(frozen=True)
class _Week:
    start: date
    end: date

    @property
    def params(self) -> dict[str, date]:
        return {"week_start": self.start, "week_end": self.end}


# ---------------------------------------------------------------- wording helpers


def _strength(x: float) -> float:
    x = max(float(x), 0.0)
    return x / (1.0 + x)


def _title(title: object) -> str:
    """The title verbatim, cut to TITLE_MAX characters with an ellipsis when longer."""
    text = "" if title is None or (isinstance(title, float) and math.isnan(title)) else str(title)
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1].rstrip() + "…"


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def _times(log_ratio: float) -> str:
    return _ratio(math.exp(log_ratio))


def _ratio(ratio: float) -> str:
    if ratio >= 10:
        return f"{ratio:.0f}x"
    if ratio >= 1:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def _count(n: float) -> str:
    return f"{round(float(n)):,}"


def _percent(share: float) -> str:
    return f"{abs(share) * 100:.0f} %"


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def _join(items: Iterable[str], word: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _format_nouns(fmt: str, platform: str | None = None) -> tuple[str, str]:
    singular, plural = FORMAT_NOUNS.get(fmt, (fmt, f"{fmt}s"))
    if platform:
        name = display_name(platform)
        return f"{name} {singular}", f"{name} {plural}"
    return singular, plural


def _source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source.lower().replace("_", " "))


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def _as_list(value: object) -> list:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return list(value)


def _present(value: object) -> bool:
    return value is not None and not pd.isna(value)


def _query(con: duckdb.DuckDBPyConnection, name: str, week: _Week) -> pd.DataFrame:
    return query(con, name, week.params)


# ---------------------------------------------------------------- rules


def _segment_subject(row: pd.Series) -> tuple[str, str]:
    """('Shorts about electric buses', 'Short'): the segment and one of its group, as named."""
    platform = row.platform if row.platforms_in_portfolio > 1 else None
    singular, plural = _format_nouns(row.format, platform)
    if row.dimension == "topic":
        return f"{plural} about {row.segment}", singular
    if row.dimension == "publish_slot":
        return f"{plural} published {row.segment}", singular
    return f"{plural} of {LENGTH_NAMES.get(row.segment, row.segment)}", singular


def _segment_decision(row: pd.Series, more: bool) -> str:
    platform = row.platform if row.platforms_in_portfolio > 1 else None
    _, plural = _format_nouns(row.format, platform)
    amount = "more" if more else "fewer"
    if row.dimension == "topic":
        return f"Make {amount} {plural} about {row.segment}"
    if row.dimension == "publish_slot":
        # 'Tue morning' -> 'Tue mornings'
        return f"Publish {amount} {plural} on {row.segment}s"
    return f"Make {amount} {plural} of {LENGTH_NAMES.get(row.segment, row.segment)}"


def _running_weeks(weeks: pd.DataFrame, row: pd.Series, week: _Week, winner: bool) -> list[dict]:
    """The segment's last three publish weeks against the portfolio; [] unless all three held."""
    wanted = [week.start - timedelta(days=7 * back) for back in range(RUNNING_WEEKS - 1, -1, -1)]
    mine = weeks[
        (weeks.platform == row.platform)
        & (weeks.format == row.format)
        & (weeks.dimension == row.dimension)
        & (weeks.segment == row.segment)
    ]
    by_week = {_as_date(r.week_start): r for r in mine.itertuples()}
    out = []
    for start in wanted:
        r = by_week.get(start)
        if r is None or r.segment_posts < 1:
            return []
        margin = float(r.segment_median_index - r.portfolio_median_index)
        if (margin < MIN_WEEKLY_MARGIN) if winner else (margin > -MIN_WEEKLY_MARGIN):
            return []
        out.append(
            {
                "iso_week": r.iso_week,
                "segment_median_index": float(r.segment_median_index),
                "portfolio_median_index": float(r.portfolio_median_index),
                "margin": margin,
                "posts": int(r.segment_posts),
            }
        )
    return out


def _segment_candidate(row: pd.Series, weeks: pd.DataFrame, week: _Week) -> _Candidate:
    winner = row.recommendation == "invest"
    rule = "segment_winner" if winner else "segment_loser"
    subject, singular = _segment_subject(row)
    effect = float(row.shrunk_effect)
    lower, upper = float(row.effect_lower_80), float(row.effect_upper_80)
    # how far the interval stays from zero: the conservative size of the effect
    distance = lower if winner else -upper
    running = _running_weeks(weeks, row, week, winner)
    items = int(row["items"])
    interval = f"80 % interval {_signed(lower)} to {_signed(upper)}"
    views = f"about {_times(effect)} a typical {singular}'s day-7 views"
    verb = "beat" if winner else "trailed"
    if running:
        margin = sum(w["margin"] for w in running) / len(running)
        text = (
            f"{_cap(subject)} {verb} the portfolio median index by {abs(margin):.2f} on average "
            f"three weeks running ({running[0]['iso_week']} to {running[-1]['iso_week']}), "
            f"and the average {singular} by {_signed(effect)} over all {items} posts "
            f"({views}; {interval})."
        )
        tier = TIER_SUSTAINED
    else:
        margin = None
        text = (
            f"{_cap(subject)} {verb} the average {singular} by {_signed(effect)} on the "
            f"performance index ({views}; {interval}, {items} posts)."
        )
        tier = TIER_PATTERN
    evidence = {
        "platform": row.platform,
        "format": row.format,
        "dimension": row.dimension,
        "segment": row.segment,
        "recommendation": row.recommendation,
        "items": items,
        "shrunk_effect": effect,
        "effect_lower_80": lower,
        "effect_upper_80": upper,
        "times_typical": math.exp(effect),
        "weeks_running": bool(running),
        "weeks": running,
        "average_weekly_margin": margin,
    }
    return _Candidate(
        Finding(rule, text, tier + _strength(distance), evidence),
        _segment_decision(row, more=winner),
    )


def segment_rules(effects: pd.DataFrame, weeks: pd.DataFrame, week: _Week) -> list[_Candidate]:
    """Invest and avoid segments (marts.segment_effects), in the running form when it holds."""
    return [_segment_candidate(row, weeks, week) for _, row in effects.iterrows()]


def best_post_rule(best: pd.DataFrame) -> list[_Candidate]:
    """The highest index among items whose day-7 mark is in the week; only if above typical."""
    if best.empty or not best.performance_index.iloc[0] > 0:
        return []
    row = best.iloc[0]
    index = float(row.performance_index)
    singular, _ = _format_nouns(row.format)
    text = (
        f"'{_title(row.title)}' ({_a(singular)} on {row.account_name}) drew {_times(index)} "
        f"its typical first-week views (index {_signed(index)}; {_count(row.views_d7)} views "
        f"vs a typical {_count(row.peer_median_d7)})"
    )
    has_source = _present(row.top_source) and _present(row.top_source_share)
    if has_source:
        text += (
            f"; its top traffic source was {_source_name(row.top_source)} "
            f"({_percent(row.top_source_share)} of first-week views)"
        )
    evidence = {
        "platform": row.platform,
        "account_name": row.account_name,
        "item_id": row.item_id,
        "title": row.title,
        "format": row.format,
        "published_date": _as_date(row.published_date).isoformat(),
        "views_d7": int(row.views_d7),
        "peer_median_d7": float(row.peer_median_d7),
        "peer_group": row.peer_group,
        "performance_index": index,
        "times_typical": math.exp(index),
        "top_source": row.top_source if has_source else None,
        "top_source_share": float(row.top_source_share) if has_source else None,
    }
    return [_Candidate(Finding("best_post", text + ".", TIER_EVENT + _strength(index), evidence))]


def kpi_move_rule(kpi: pd.DataFrame) -> list[_Candidate]:
    """Views week over week: the portfolio (led by its biggest mover) or else one account.
    Only weeks complete and measured in full: a change is never drawn from an estimate."""
    usable = kpi[
        kpi.is_complete & kpi.prev_is_complete & kpi.is_measured & (kpi.views_prev_week > 0)
    ].copy()
    if usable.empty:
        return []
    usable["change"] = usable.views / usable.views_prev_week - 1
    accounts = [
        {
            "account_name": r.account_name,
            "views": int(r.views),
            "views_prev_week": int(r.views_prev_week),
            "change": float(r.change),
        }
        for r in usable.itertuples()
    ]
    whole = len(usable) == len(kpi) and len(kpi) > 1
    total, total_prev = float(usable.views.sum()), float(usable.views_prev_week.sum())
    total_change = total / total_prev - 1
    if whole and abs(total_change) >= MIN_KPI_CHANGE:
        rose = total_change > 0
        text = (
            f"Views {'rose' if rose else 'fell'} {_percent(total_change)} week over week "
            f"across the portfolio ({_count(total)} vs {_count(total_prev)})"
        )
        # led by the account that moved the most views in the same direction
        same = usable[(usable.views > usable.views_prev_week) == rose]
        leader = same.loc[(same.views - same.views_prev_week).abs().idxmax()]
        text += (
            f", led by {leader.account_name} ({'up' if rose else 'down'} "
            f"{_percent(leader.change)}: {_count(leader.views)} vs "
            f"{_count(leader.views_prev_week)})."
        )
        change, scope = total_change, "portfolio"
        views, views_prev = int(total), int(total_prev)
    else:
        moved = usable[usable.change.abs() >= MIN_KPI_CHANGE]
        if moved.empty:
            return []
        top = moved.loc[moved.change.abs().idxmax()]
        change, scope = float(top.change), top.account_name
        views, views_prev = int(top.views), int(top.views_prev_week)
        text = (
            f"Views {'rose' if change > 0 else 'fell'} {_percent(change)} week over week on "
            f"{top.account_name} ({_count(top.views)} vs {_count(top.views_prev_week)})."
        )
    evidence = {
        "scope": scope,
        "change": change,
        "views": views,
        "views_prev_week": views_prev,
        "accounts": accounts,
    }
    return [_Candidate(Finding("kpi_move", text, TIER_EVENT + _strength(abs(change)), evidence))]


def anomaly_rule(anomaly: pd.DataFrame) -> list[_Candidate]:
    """The week's largest anomaly (marts.anomalies) and the traffic source that drove it."""
    if anomaly.empty:
        return []
    row = anomaly.iloc[0]
    z = float(row.robust_z)
    what = (
        f"'{_title(row.title)}' on {row.account_name}"
        if row.level == "item" and _present(row.title)
        else row.account_name
    )
    expected = float(row.expected_views)
    moved = "spiked" if row.direction == "spike" else "dropped"
    against = (
        f"{_ratio(row.views / expected)} the expected {_count(expected)}"
        if expected >= 1
        else f"against an expected {_count(expected)}"
    )
    text = (
        f"Views {'of' if row.level == 'item' else 'on'} {what} {moved} to {_count(row.views)} "
        f"on {_day(_as_date(row.date))}, {against} (robust z {z:+.1f})"
    )
    has_driver = _present(row.driver_source) and _present(row.driver_views_change)
    if has_driver:
        text += (
            f", driven by {_source_name(row.driver_source)} "
            f"({float(row.driver_views_change):+,.0f} views against its 28-day daily average)"
        )
    evidence = {
        "level": row.level,
        "platform": row.platform,
        "account_name": row.account_name,
        "item_id": row.item_id,
        "title": row.title if _present(row.title) else None,
        "date": _as_date(row.date).isoformat(),
        "direction": row.direction,
        "views": int(row.views),
        "expected_views": expected,
        "robust_z": z,
        "driver_source": row.driver_source if has_driver else None,
        "driver_views_change": float(row.driver_views_change) if has_driver else None,
    }
    score = TIER_EVENT + _strength(abs(z) / 3.5 - 1)
    return [_Candidate(Finding("anomaly", text + ".", score, evidence))]


def repurposing_rule(candidate: pd.DataFrame) -> list[_Candidate]:
    """The strongest family that did well and is missing a format or an account."""
    if candidate.empty:
        return []
    row = candidate.iloc[0]
    formats = [str(f) for f in _as_list(row.missing_formats)]
    accounts = [str(a) for a in _as_list(row.missing_account_names)]
    if not formats and not accounts:
        return []
    index = float(row.best_performance_index)
    title = _title(row.title)
    singular, _ = _format_nouns(row.best_format)
    format_names = [_a(_format_nouns(f)[0]) for f in formats]
    gaps = []
    if formats:
        gaps.append(f"has no {_join((_format_nouns(f)[0] for f in formats), 'or')}")
    if accounts:
        gaps.append(f"is not on {_join(accounts, 'or')}")
    text = (
        f"'{title}' ({_a(singular)} on {row.best_account_name}, {_times(index)} its typical "
        f"first-week views, index {_signed(index)}) {_join(gaps)} yet."
    )
    moves = []
    if formats:
        moves.append(f"as {_join(format_names, 'or')}")
    if accounts:
        moves.append(f"for {_join(accounts)}")
    decision = f"Repurpose '{title}' {', and '.join(moves)}"
    evidence = {
        "family_id": row.family_id,
        "title": row.title,
        "best_platform": row.best_platform,
        "best_item_id": row.best_item_id,
        "best_account_name": row.best_account_name,
        "best_format": row.best_format,
        "best_performance_index": index,
        "missing_formats": formats,
        "missing_accounts": accounts,
    }
    return [
        _Candidate(
            Finding("repurposing", text, TIER_EVENT + _strength(index), evidence),
            decision,
        )
    ]


def data_quality_rule(quality: pd.DataFrame, week: _Week) -> list[_Candidate]:
    """Provisional or restated days in the week, and accounts whose data stops early."""
    if quality.empty:
        return []
    provisional = {
        r.account_name: sorted(_as_date(d) for d in _as_list(r.provisional_dates))
        for r in quality.itertuples()
    }
    provisional = {name: days for name, days in provisional.items() if days}
    restated = {
        r.account_name: int(r.items_restated) for r in quality.itertuples() if r.items_restated > 0
    }
    cutoff = week.end - timedelta(days=STALE_AFTER_DAYS)
    last_complete = {
        r.account_name: _as_date(r.last_complete_date) if _present(r.last_complete_date) else None
        for r in quality.itertuples()
    }
    stale = {name: last for name, last in last_complete.items() if last is None or last < cutoff}
    read = {
        r.account_name: pd.Timestamp(r.last_extracted_at)
        for r in quality.itertuples()
        if _present(getattr(r, "last_extracted_at", None))
    }
    newest_read = max(read.values(), default=None)
    missed = {
        name: at
        for name, at in read.items()
        if newest_read - at > pd.Timedelta(hours=MISSED_RUN_HOURS) and name not in stale
    }

    def accounts(names: Iterable[str]) -> str:
        names = sorted(names)
        if len(names) == len(quality) == 2:
            return "both accounts"
        if len(names) == len(quality) > 2:
            return f"all {len(names)} accounts"
        return _join(names)

    parts = []
    if provisional:
        days = sorted({d for ds in provisional.values() for d in ds})
        parts.append(
            f"{_join(_day(d) for d in days)} {'is' if len(days) == 1 else 'are'} still "
            f"provisional on {accounts(provisional)}"
        )
    if restated:
        total = sum(restated.values())
        parts.append(
            f"the platform restated {_count(total)} item-day{'' if total == 1 else 's'} "
            f"on {accounts(restated)}"
        )
    for name, last in sorted(stale.items()):
        parts.append(
            f"{name} has no complete day after {_day(last)}"
            if last
            else f"{name} has no complete day yet"
        )
    for name, at in sorted(missed.items()):
        parts.append(f"{name} was not refreshed by the last run (last read {_day(at.date())})")
    if not parts:
        return []
    text = _cap("; ".join(parts)) + "."
    evidence = {
        "provisional_dates": {
            name: [d.isoformat() for d in days] for name, days in provisional.items()
        },
        "items_restated": restated,
        "stale_accounts": {
            name: last.isoformat() if last else None for name, last in stale.items()
        },
        "not_refreshed": {name: at.isoformat() for name, at in missed.items()},
    }
    score = TIER_NOTE + (0.5 if stale or missed else 0.1)
    return [_Candidate(Finding("data_quality", text, score, evidence))]


# ---------------------------------------------------------------- assembly


def _rank(candidates: list[_Candidate]) -> Findings:
    ordered = sorted(candidates, key=lambda c: (-c.finding.score, c.finding.rule, c.finding.text))
    shown: list[_Candidate] = []
    rules: set[str] = set()
    for candidate in ordered:
        if candidate.finding.rule not in rules:
            rules.add(candidate.finding.rule)
            shown.append(candidate)
    headline = shown[0] if shown and shown[0].finding.score >= TIER_EVENT else None
    supporting = (shown[1:] if headline else shown)[:MAX_SUPPORTING]
    decided = [c for c in ([headline] if headline else []) + supporting if c.decision]
    decided.sort(key=lambda c: -c.finding.score)
    return Findings(
        headline=headline.finding if headline else None,
        supporting=[c.finding for c in supporting],
        decisions=[Decision(c.decision, c.finding.rule) for c in decided[:MAX_DECISIONS]],
    )


def findings(con: duckdb.DuckDBPyConnection, week_start: date, week_end: date) -> Findings:
    """The week's headline, supporting findings and decisions from the published marts."""
    week = _Week(week_start, week_end)
    candidates = [
        *segment_rules(
            _query(con, "findings_segments", week),
            _query(con, "findings_segment_weeks", week),
            week,
        ),
        *best_post_rule(_query(con, "findings_best_post", week)),
        *kpi_move_rule(_query(con, "findings_kpi", week)),
        *anomaly_rule(_query(con, "anomalies_week", week)),
        *repurposing_rule(_query(con, "findings_repurposing", week)),
        *data_quality_rule(_query(con, "findings_data_quality", week), week),
    ]
    result = _rank(candidates)
    log.info(
        "findings %s..%s: %d candidates, headline %s, %d supporting, %d decisions",
        week_start,
        week_end,
        len(candidates),
        result.headline.rule if result.headline else "none",
        len(result.supporting),
        len(result.decisions),
    )
    return result
