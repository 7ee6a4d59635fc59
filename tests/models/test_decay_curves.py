"""The decay curve that splits a lifetime counter's measured interval over its days
(models/intermediate/int_decay_curves.py), on posts drawn from a known curve."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from models.runner import MODELS_DIR

spec = importlib.util.spec_from_file_location(
    "int_decay_curves", MODELS_DIR / "intermediate" / "int_decay_curves.py"
)
decay = importlib.util.module_from_spec(spec)
spec.loader.exec_module(decay)

READS = (0, 1, 2, 3, 6, 13, 29, 89, 179, 364)  # the re-poll schedule's ages


def true_rate(age: np.ndarray, tau: float = 2.0, evergreen: float = 0.1) -> np.ndarray:
    """An exponential launch and a slow evergreen tail, like the sandbox's posts."""
    return (1 - evergreen) * np.exp(-age / tau) / tau + evergreen * np.exp(-age / 300) / 300


def schedule_intervals(posts: int, first_reads: list[int], seed: int = 3):
    """Posts read on the schedule from their first read on; each first read covers the
    days since publish (a backfill's first look at an older post)."""
    rng = np.random.default_rng(seed)
    start, end, increment, post = [], [], [], []
    ages = np.arange(400, dtype=float)
    for p in range(posts):
        daily = rng.poisson(rng.lognormal(np.log(20_000), 0.8) * true_rate(ages))
        first = first_reads[p % len(first_reads)]
        reads = [first, *[a for a in READS if a > first]]
        previous = -1
        for age in reads:
            start.append(previous + 1)
            end.append(age)
            increment.append(daily[previous + 1 : age + 1].sum())
            post.append(f"p{p}")
            previous = age
    return tuple(np.array(x) for x in (start, end, increment, post))


def split(theta: np.ndarray, first: int, last: int) -> np.ndarray:
    ages = np.arange(first, last + 1, dtype=float)
    rates = np.exp(decay._basis(ages) @ theta)
    return rates / rates.sum()


def wape(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(estimate - truth).sum() / truth.sum())


@pytest.mark.parametrize(
    "first, last",
    [(4, 6), (7, 13), (14, 29), (30, 89), (90, 179), (180, 364), (0, 40), (0, 120)],
)
def test_the_fitted_curve_splits_an_interval_close_to_the_truth(first, last):
    """Every gap of the re-poll schedule, and a backfilled post's history before its first
    read: the curve's split is within 21 % of the true days (WAPE), never worse than an even
    split by more than 0.02, and far better where the views fall steeply."""
    start, end, increment, post = schedule_intervals(300, [0, 0, 0, 40, 120])
    theta = decay.fit_curve(start, end, increment, post)
    truth = true_rate(np.arange(first, last + 1, dtype=float))
    truth = truth / truth.sum()
    curve, even = (
        wape(split(theta, first, last), truth),
        wape(np.full(len(truth), 1 / len(truth)), truth),
    )
    assert curve < 0.21
    assert curve < even + 0.02
    if even > 0.3:
        assert curve < even / 4


def test_with_no_interval_the_curve_is_the_prior():
    empty = np.array([], dtype=int)
    theta = decay.fit_curve(empty, empty, empty.astype(float), empty.astype(str))
    assert np.allclose(theta, decay.PRIOR)


def test_posts_read_once_say_nothing_of_the_shape():
    """A post read once only fixes its own level: the curve stays the prior."""
    start, end, increment, post = schedule_intervals(50, [0])
    firsts = start == 0
    theta = decay.fit_curve(start[firsts], end[firsts], increment[firsts], post[firsts])
    assert np.allclose(theta, decay.PRIOR, atol=1e-6)
