"""Each lifetime-counter account's decay curve: how a post's daily views fall with its age.

The curve splits what a snapshot measured across the days it could not see: a gap
between two reads of an older post, and a backfilled post's history before its first
read (int_snapshot_daily), and it projects a post's days since its last read
(int_snapshot_projections). It is fitted on the account's own posts, from every interval
between consecutive snapshots:

    increment(post, interval) = level(post) * sum over the interval's ages a of exp(f(a))

where f, the log of the daily rate, is piecewise linear in log(1 + age) between fixed knot
ages (0, 1, 2, 3, 6, 13, 29, 89, 179, 364, 729: the re-poll schedule's ages), and each post
has its own level. It is fitted on the log scale by Gauss-Newton, the post levels removed by
centring within each post, with a penalty on bends of the curve (in proportion to the data:
no zig-zag between knots fits the noise) and a weak ridge towards a prior (a power law of exponent 1.2 from day 1, the publish day
at 60 % of day 1) that
holds the curve where the data says nothing (ages no post was read around). Only posts read
at least twice say anything about the shape. An account with fewer than MIN_POSTS such posts
borrows its platform's curve (its accounts pooled), else the prior (platforms decay too
differently to borrow across them); `curve_source` says which.

The backtest is out of sample: the posts are split in two by id; each half's exact days
(ages 0 to 3, read every night) are merged into one interval, split again with the curve
fitted on the other half, and compared with what was measured (`backtest_wape`: the sum of
absolute day errors over the sum of the days' views); `backtest_wape_even` is the same for
an even split, the method this replaced.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

REFS = ("intermediate.int_snapshot_intervals",)

KNOTS = np.array([0, 1, 2, 3, 6, 13, 29, 89, 179, 364, 729], dtype=float)
PRIOR_EXPONENT = 1.2
RIDGE = 1.0
SMOOTHNESS = 0.003  # per interval: the weight of a bend in the curve against the data
MIN_POSTS = 5  # posts read at least twice before an account's own curve is trusted
ITERATIONS = 12
BACKTEST_AGES = 4  # ages 0..3: read every night, so each day is exact


def _basis(ages: np.ndarray) -> np.ndarray:
    """Hat functions of log(1 + age) on the knots, extended linearly past the last one."""
    u, knots = np.log1p(ages), np.log1p(KNOTS)
    left = np.clip(np.searchsorted(knots, u, side="right") - 1, 0, len(knots) - 2)
    t = (u - knots[left]) / (knots[left + 1] - knots[left])
    basis = np.zeros((len(ages), len(knots)))
    rows = np.arange(len(ages))
    basis[rows, left] = 1 - t
    basis[rows, left + 1] = t
    return basis


# the prior: a power law from day 1 on, and a publish day worth 60 % of day 1 (a post goes
# up at some hour of its first day, on average about mid-day)
PRIOR = np.where(KNOTS == 0, np.log(0.6), -PRIOR_EXPONENT * np.log(np.maximum(KNOTS, 1)))


def _centred(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """`values` minus their mean within each group (the post levels drop out)."""
    sums = np.zeros((groups.max() + 1, *values.shape[1:]))
    np.add.at(sums, groups, values)
    counts = np.bincount(groups, minlength=groups.max() + 1).reshape(-1, *([1] * (values.ndim - 1)))
    return values - (sums / counts)[groups]


def fit_curve(start: np.ndarray, end: np.ndarray, increment: np.ndarray, post: np.ndarray):
    """The knot values of f fitted to intervals [start, end] (ages) with these increments."""
    theta = PRIOR.copy()
    if len(start) == 0:
        return theta
    basis = _basis(np.arange(int(end.max()) + 1, dtype=float))
    y = np.log(np.maximum(increment, 0) + 0.5)
    groups = np.unique(post, return_inverse=True)[1]
    ridge = RIDGE * np.eye(len(KNOTS))
    # smoothness: bends of the curve away from the prior's (changes of slope in log age from
    # one knot to the next) cost in proportion to the data: no zig-zag fits the noise
    slopes = np.diff(np.eye(len(KNOTS)), axis=0) / np.diff(np.log1p(KNOTS))[:, None]
    bends = np.diff(slopes, axis=0)
    smooth = SMOOTHNESS * len(start) * bends.T @ bends
    for _ in range(ITERATIONS):
        f = basis @ theta
        w = np.exp(f - f.max())
        cum = np.concatenate([[0.0], np.cumsum(w)])
        cum_basis = np.vstack([np.zeros(len(KNOTS)), np.cumsum(w[:, None] * basis, axis=0)])
        total = cum[end + 1] - cum[start]
        jacobian = _centred((cum_basis[end + 1] - cum_basis[start]) / total[:, None], groups)
        residual = _centred(y - np.log(total), groups)
        step = np.linalg.solve(
            jacobian.T @ jacobian + ridge + smooth,
            jacobian.T @ residual - RIDGE * (theta - PRIOR) - smooth @ (theta - PRIOR),
        )
        theta = theta + step
        if np.abs(step).max() < 1e-6:
            break
    return theta


def _informative(intervals: pd.DataFrame) -> pd.DataFrame:
    """Intervals of posts read at least twice (one read alone says nothing of the shape)."""
    reads = intervals.groupby("post")["post"].transform("size")
    return intervals[reads >= 2]


def _fit(intervals: pd.DataFrame) -> np.ndarray:
    return fit_curve(
        intervals.start.to_numpy(),
        intervals.end.to_numpy(),
        intervals.views.to_numpy(dtype=float),
        intervals.post.to_numpy(),
    )


def _curves(intervals: pd.DataFrame) -> dict[tuple[str, str], tuple[np.ndarray, str, int]]:
    """Per account: (knot values, where they come from, informative posts)."""
    informative = _informative(intervals)
    by_platform = {}
    for platform, rows in informative.groupby("platform"):
        if rows.post.nunique() >= MIN_POSTS:
            by_platform[platform] = (_fit(rows), "platform")
    out = {}
    for platform, account in (
        intervals[["platform", "account_id"]].drop_duplicates().itertuples(index=False)
    ):
        mine = informative[(informative.platform == platform) & (informative.account_id == account)]
        posts = mine.post.nunique()
        if posts >= MIN_POSTS:
            out[(platform, account)] = (_fit(mine), "account", posts)
        else:
            theta, source = by_platform.get(platform, (PRIOR, "prior"))
            out[(platform, account)] = (theta, source, posts)
    return out


def _split(total: float, log_rates: np.ndarray) -> np.ndarray:
    w = np.exp(log_rates - log_rates.max())
    return total * w / w.sum()


def _backtest(intervals: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float, float]]:
    """Per account: (days, WAPE of the curve's split, WAPE of an even split), out of sample."""
    exact = intervals[(intervals.start == intervals.end) & (intervals.end < BACKTEST_AGES)]
    runs = exact[exact.groupby("post").end.transform("size") == BACKTEST_AGES]
    if runs.empty:
        return {}
    fold_of = {p: zlib.crc32(p.encode()) % 2 for p in intervals.post.unique()}
    half = intervals.post.map(fold_of)
    days = runs.pivot_table(index=["platform", "account_id", "post"], columns="end", values="views")
    actual = days.to_numpy(dtype=float)  # posts x ages 0..3
    keys = days.index.to_frame(index=False)
    basis = _basis(np.arange(BACKTEST_AGES, dtype=float))
    curve = np.zeros_like(actual)
    for fold in (0, 1):
        curves = _curves(intervals[half != fold])
        mine = keys[keys.post.map(fold_of) == fold]
        for (platform, account), rows in mine.groupby(["platform", "account_id"]):
            theta = curves.get((platform, account), (PRIOR,))[0]
            share = _split(1.0, basis @ theta)
            idx = rows.index.to_numpy()
            curve[idx] = actual[idx].sum(axis=1, keepdims=True) * share
    even = np.repeat(actual.sum(axis=1, keepdims=True) / BACKTEST_AGES, BACKTEST_AGES, axis=1)
    table = keys.assign(
        curve_error=np.abs(curve - actual).sum(axis=1),
        even_error=np.abs(even - actual).sum(axis=1),
        views=actual.sum(axis=1),
    )
    out = {}
    for (platform, account), rows in table.groupby(["platform", "account_id"]):
        total = rows.views.sum()
        out[(platform, account)] = (
            int(len(rows) * BACKTEST_AGES),
            rows.curve_error.sum() / total if total else np.nan,
            rows.even_error.sum() / total if total else np.nan,
        )
    return out


def frame(con, context) -> pd.DataFrame:
    intervals = con.execute(
        """
        select platform, account_id, platform || '/' || account_id || '/' || item_id as post,
            date_diff('day', publish_date, previous_date) + 1 as start,
            date_diff('day', publish_date, snapshot_date) as "end",
            views
        from intermediate.int_snapshot_intervals
        where publish_date is not null and views is not null and views >= 0
            and date_diff('day', publish_date, previous_date) + 1 >= 0
        order by platform, account_id, post, start, "end"
        """
    ).df()  # in a fixed order: the fits' float sums are then the same on every build
    # the ages each account's estimates need: up to its newest read of its oldest post
    spans = con.execute(
        """
        select platform, account_id,
            greatest(max(date_diff('day', publish_date, snapshot_date)), 0) as max_age,
            max(snapshot_date) - min(publish_date) as span
        from intermediate.int_snapshot_intervals
        group by platform, account_id
        """
    ).fetchall()
    columns = [
        "platform",
        "account_id",
        "age_days",
        "log_rate",
        "curve_source",
        "posts_fitted",
        "backtest_days",
        "backtest_wape",
        "backtest_wape_even",
    ]
    if not spans:
        return pd.DataFrame(columns=columns)
    curves = _curves(intervals) if not intervals.empty else {}
    backtests = _backtest(intervals) if not intervals.empty else {}
    parts = []
    for platform, account, max_age, span in spans:
        theta, source, posts = curves.get((platform, account), (PRIOR, "prior", 0))
        ages = np.arange(max(int(max_age or 0), int(span or 0)) + 1, dtype=float)
        days, wape, wape_even = backtests.get((platform, account), (0, np.nan, np.nan))
        parts.append(
            pd.DataFrame(
                {
                    "platform": platform,
                    "account_id": account,
                    "age_days": ages.astype("int64"),
                    "log_rate": _basis(ages) @ theta,
                    "curve_source": source,
                    "posts_fitted": posts,
                    "backtest_days": days,
                    "backtest_wape": wape,
                    "backtest_wape_even": wape_even,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[columns]
