"""The analytics models (decay, shrunk rates, forecast and its backtest, segment effects)
on tiny hand-made inputs with known answers, landed, loaded and built the real way."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from contentpulse.config import Config, load_config
from contentpulse.warehouse import open_warehouse
from tests.models.builds import build
from tests.models.test_models import ACCOUNT, T0, day, item, land
from transforms.load import load

Z_80 = 1.2815515655446004  # the standard normal's 90th percentile


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    """One YouTube account reporting in UTC (local dates = UTC dates)."""
    path = tmp_path / "contentpulse.yml"
    path.write_text(
        "sources:\n  youtube:\n    accounts:\n"
        f"      - {{id: {ACCOUNT}, name: Test, timezone: UTC, conn_id: yt}}\n",
        encoding="utf-8",
    )
    return load_config(path)


def built(cfg, *tables: str) -> dict[str, pd.DataFrame]:
    with open_warehouse(cfg.paths.warehouse) as con:
        load(cfg, con)
        build(con)
        return {t: con.sql(f"select * from {t}").df() for t in tables}


def engaged_day(item_id: str, d: date, views: int, likes: int) -> dict:
    row = day(item_id, d, views)
    row["likes"] = likes
    return row


def on(published: datetime, age: int) -> date:
    return (published + timedelta(days=age)).date()


# --- decay -----------------------------------------------------------------------------


def ten_a_day(item_id: str, published: datetime, first_day: int) -> list[dict]:
    """first_day views at age 0, then 10 a day through age 89: running views first_day + 10a,
    first-90-day views first_day + 890; then days after day 90, which must not count."""
    rows = [day(item_id, on(published, 0), first_day)]
    rows += [day(item_id, on(published, a), 10) for a in range(1, 90)]
    return rows + [day(item_id, on(published, a), 5_000) for a in range(90, 100)]


def test_half_life_is_the_first_age_whose_running_views_reach_half_of_90_days(cfg):
    # first_day -> half of (first_day + 890) is first reached at age:
    # 110 -> 500 exactly at 39 (mid-week); 50 -> 470 exactly at 42 (a week's first day);
    # 70 -> 480 exactly at 41 (a week's last day); 1,000 -> 945 already on day 0
    curves = {"mid": (110, 39), "first": (50, 42), "last": (70, 41), "front": (1_000, 0)}
    young = T0 + timedelta(days=40)
    items = [item(name, T0) for name in curves] + [item("young", young)]
    daily = [row for name, (first, _) in curves.items() for row in ten_a_day(name, T0, first)]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", [*daily, day("young", on(young, 0), 50)], T0)
    decay = built(cfg, "intermediate.int_post_decay")["intermediate.int_post_decay"]
    decay = decay.set_index("item_id")
    assert {name: decay.loc[name].half_life_days for name in curves} == {
        name: age for name, (_, age) in curves.items()
    }
    mid = decay.loc["mid"]
    assert (mid.views_d30, mid.views_d90) == (110 + 29 * 10, 1_000)
    assert mid.share_after_d30 == pytest.approx((1_000 - 400) / 1_000)
    assert pd.isna(mid.decay_class)  # four aged items: no peer group of 5
    young_row = decay.loc["young"]  # 59 days of data: not 90 days old yet
    assert pd.isna(young_row.half_life_days) and pd.isna(young_row.share_after_d30)


def test_decay_class_compares_the_share_after_day_30_with_the_format_peers(cfg):
    items, daily = [], []
    for i, late_views in enumerate([0, 100, 200, 300, 400]):  # the same first 30 days
        published = T0 + timedelta(days=i)
        items.append(item(f"p{i}", published))
        daily += [day(f"p{i}", on(published, 0), 600), day(f"p{i}", on(published, 89), late_views)]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    decay = built(cfg, "intermediate.int_post_decay")["intermediate.int_post_decay"]
    classes = decay.set_index("item_id").decay_class.to_dict()
    assert classes == {
        "p0": "spiky",
        "p1": "typical",
        "p2": "typical",
        "p3": "typical",
        "p4": "evergreen",
    }
    assert decay.set_index("item_id").loc["p0"].half_life_days == 0


# --- engagement rates shrunk toward a prior ----------------------------------------------


def test_a_tiny_item_with_a_perfect_rate_ranks_below_a_large_item_at_30_percent(cfg):
    # the fit: items with >= 100 views; the 2-view item is left out of it
    fit = [(1_000, 40), (1_000, 50), (1_000, 60), (1_000, 70), (1_000, 80), (10_000, 3_000)]
    items, daily = [], []
    for i, (views, likes) in enumerate(fit):
        items.append(item(f"f{i}", T0))
        daily.append(engaged_day(f"f{i}", T0.date(), views, likes))
    items += [item("tiny", T0), item("s0", T0, "short")]
    daily += [engaged_day("tiny", T0.date(), 2, 2), engaged_day("s0", T0.date(), 500, 50)]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    out = built(cfg, "intermediate.int_rate_priors", "intermediate.int_item_rates")
    priors = out["intermediate.int_rate_priors"].set_index("format")
    rates = out["intermediate.int_item_rates"].set_index("item_id")

    rate = [k / n for n, k in fit]
    mean = statistics.fmean(rate)
    rho = (
        statistics.variance(rate) / (mean * (1 - mean)) - statistics.fmean(1 / n for n, _ in fit)
    ) / (1 - statistics.fmean(1 / n for n, _ in fit))
    strength = 1 / rho - 1
    alpha, beta = mean * strength, (1 - mean) * strength
    video = priors.loc["video"]
    assert (video.prior_source, video.prior_items) == ("platform_format", 6)
    assert (video.alpha, video.beta) == (pytest.approx(alpha), pytest.approx(beta))
    # Shorts have one item with >= 100 views: too few for their own fit, so they borrow
    # the platform's (all seven items with >= 100 views)
    assert priors.loc["short"].prior_source == "platform" and priors.loc["short"].prior_items == 7

    tiny, large = rates.loc["tiny"], rates.loc["f5"]
    assert tiny.er_by_views == 1.0 and large.er_by_views == 0.3  # raw: tiny looks best
    shrunk = (2 + alpha) / (2 + alpha + beta)
    assert tiny.er_by_views_shrunk == pytest.approx(shrunk)
    sd = math.sqrt(shrunk * (1 - shrunk) / (2 + alpha + beta + 1))
    assert tiny.er_by_views_lower_80 == pytest.approx(max(shrunk - Z_80 * sd, 0))
    assert tiny.er_by_views_lower_80 < large.er_by_views_lower_80  # ranked by the bound
    assert large.er_by_views_lower_80 == pytest.approx(
        (3_000 + alpha) / (10_000 + alpha + beta)
        - Z_80
        * math.sqrt(
            (3_000 + alpha)
            / (10_000 + alpha + beta)
            * (1 - (3_000 + alpha) / (10_000 + alpha + beta))
            / (10_000 + alpha + beta + 1)
        )
    )
    assert rates.loc["s0"].er_by_views_prior_source == "platform"


# --- forecast and backtest ---------------------------------------------------------------


def grown(item_id: str, published: datetime, ratio: int) -> list[dict]:
    """views_d7 = 99 and views_d30 + 1 = 100 x ratio (so ln growth = ln ratio), plus
    views after day 30 that must not count."""
    return [
        day(item_id, on(published, 0), 99),
        day(item_id, on(published, 10), 100 * ratio - 100),
        day(item_id, on(published, 40), 10_000),
    ]


def test_forecast_is_the_log_linear_growth_and_its_backtest_is_published(cfg):
    # eight items old enough for day 30: growth ratios 2, 4, 2, 4, 8 (early) and 2, 4, 4
    early = [(0, 2), (1, 4), (2, 2), (3, 4), (4, 8)]
    late = [(40, 2), (41, 4), (42, 4)]
    items, daily = [], []
    for offset, ratio in early + late:
        published = T0 + timedelta(days=offset)
        items.append(item(f"d{offset}", published))
        daily += grown(f"d{offset}", published, ratio)
    young = T0 + timedelta(days=65)  # 17 days old at the newest day (T0 + 82)
    items.append(item("young", young))
    daily += [day("young", on(young, 0), 49)] + [
        day("young", on(young, a), 1) for a in range(7, 11)
    ]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    out = built(cfg, "intermediate.int_forecast_fits", "intermediate.int_forecast")
    fits = out["intermediate.int_forecast_fits"].set_index(["format", "horizon"])
    forecast = out["intermediate.int_forecast"].set_index("item_id")

    logs = [math.log(r) for _, r in early + late]
    b, sd = statistics.fmean(logs), statistics.stdev(logs)
    fit = fits.loc[("video", "d7_to_d30")]
    assert fit.fit_items == 8
    assert fit.log_growth == pytest.approx(1.75 * math.log(2))
    assert fit.log_growth_sd == pytest.approx(sd)

    young_row = forecast.loc["young"]
    assert young_row.views_d7 == 49 and pd.isna(young_row.views_d30)
    assert young_row.views_d30_forecast == pytest.approx(math.exp(math.log(50) + b) - 1)
    half = Z_80 * sd * math.sqrt(1 + 1 / 8)
    assert young_row.views_d30_forecast_lower_80 == pytest.approx(
        math.exp(math.log(50) + b - half) - 1
    )
    assert young_row.views_d30_forecast_upper_80 == pytest.approx(
        math.exp(math.log(50) + b + half) - 1
    )
    # no item is 90 days old: no day-90 fit, so no day-90 forecast
    assert pd.isna(young_row.views_d90_forecast)
    assert ("video", "d7_to_d90") not in fits.index
    assert pd.isna(forecast.loc["d0"].views_d30_forecast)  # known: not forecast

    # backtest: the newest quarter (d41, d42) held out, trained on the six older items
    train = [math.log(r) for _, r in [*early, late[0]]]
    b_train, sd_train = statistics.fmean(train), statistics.stdev(train)
    predicted = math.exp(math.log(100) + b_train) - 1  # both held-out items: d7 = 99
    actual = 399
    half_train = Z_80 * sd_train * math.sqrt(1 + 1 / 6)
    inside = (
        math.exp(math.log(100) + b_train - half_train) - 1
        <= actual
        <= math.exp(math.log(100) + b_train + half_train) - 1
    )
    assert (fit.backtest_train_items, fit.backtest_items) == (6, 2)
    assert fit.backtest_cutoff_at == T0 + timedelta(days=41)
    assert fit.backtest_mdape == pytest.approx(abs(predicted - actual) / actual)
    assert inside and fit.backtest_coverage_80 == 1.0


def test_a_forecast_never_falls_below_the_views_already_seen(cfg):
    items, daily = [], []
    for offset, ratio in [(0, 2), (1, 2), (2, 2), (3, 2), (4, 2)]:
        published = T0 + timedelta(days=offset)
        items.append(item(f"d{offset}", published))
        daily += grown(f"d{offset}", published, ratio)
    young = T0 + timedelta(days=30)  # 10 days old at T0 + 40
    items.append(item("young", young))
    daily += [day("young", on(young, 0), 99), day("young", on(young, 9), 1_000)]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    forecast = built(cfg, "intermediate.int_forecast")["intermediate.int_forecast"]
    young_row = forecast.set_index("item_id").loc["young"]
    assert young_row.views == 1_099  # the growth alone (x2) would say 199
    assert young_row.views_d30_forecast == young_row.views_d30_forecast_lower_80 == 1_099


# --- segment effects ----------------------------------------------------------------------


def test_segment_effects_invest_in_a_strong_topic_and_pool_a_lone_slot_to_zero(cfg):
    # one item a day at noon UTC (the same weekday slot every 7 days): 14 days of 'news'
    # at day-7 views 99 set the peers' median, then each week's seven items share one
    # day-7 figure, so the weekday slots hold nearly the same mix and explain nothing;
    # 'food' weeks sit about +1.0 (ln 272/100) above 'news' weeks
    weeks = [("news", 99)] * 2 + [("news", 60), ("food", 271), ("news", 164), ("food", 447)]
    weeks += [("news", 99), ("food", 271)]
    items, daily = [], []
    for w, (topic, d7) in enumerate(weeks):
        for k in range(7):
            published = T0 + timedelta(days=7 * w + k)
            items.append(item(f"w{w}d{k}", published) | {"tags": [topic]})
            daily += [day(f"w{w}d{k}", on(published, 0), d7), day(f"w{w}d{k}", on(published, 6), 0)]
    lone = datetime(2026, 9, 2, 3, tzinfo=UTC) + timedelta(days=7 * len(weeks))  # a night
    items.append(item("lone", lone) | {"tags": ["news"]})
    daily += [day("lone", on(lone, 0), 447), day("lone", on(lone, 6), 0)]
    land(cfg, "content_items", items, T0)
    land(cfg, "content_daily", daily, T0)
    out = built(cfg, "marts.posts", "marts.post_performance", "marts.segment_effects")
    posts = out["marts.posts"].set_index("item_id")
    index = out["marts.post_performance"].set_index("item_id").performance_index.dropna()
    effects = out["marts.segment_effects"].set_index(["dimension", "segment"])

    # the inputs do what they say: food items about +1.0 above the news items
    topics = posts.topic.reindex(index.index)
    assert index[topics == "food"].mean() - index[topics == "news"].mean() == pytest.approx(
        1.0, abs=0.15
    )

    def expected(dimension: str, labels: pd.Series) -> dict[str, tuple[float, float, float]]:
        """Normal-normal empirical Bayes by hand: segment -> (raw, shrunk, standard error)."""
        groups = {s: index[labels == s].tolist() for s in sorted(set(labels))}
        squares = sum(sum((x - statistics.fmean(v)) ** 2 for x in v) for v in groups.values())
        sigma2 = max(squares / (len(index) - len(groups)), 0.0001)
        means = {s: statistics.fmean(v) for s, v in groups.items()}
        tau2 = 0.0001
        if len(groups) > 1:
            tau2 = max(
                statistics.variance(means.values())
                - statistics.fmean(sigma2 / len(v) for v in groups.values()),
                0.0001,
            )
        center = index.mean()
        out = {}
        for s, v in groups.items():
            weight = len(v) / (len(v) + sigma2 / tau2)
            raw = means[s] - center
            out[s] = (raw, weight * raw, math.sqrt(weight * sigma2 / len(v)))
        return out

    slots = (posts.publish_weekday + " " + posts.publish_daypart).reindex(index.index)
    for dimension, labels in (("topic", topics), ("publish_slot", slots)):
        for segment, (raw, shrunk, se) in expected(dimension, labels).items():
            row = effects.loc[(dimension, segment)]
            assert row.raw_effect == pytest.approx(raw), (dimension, segment)
            assert row.shrunk_effect == pytest.approx(shrunk), (dimension, segment)
            assert row.standard_error == pytest.approx(se), (dimension, segment)

    food = effects.loc[("topic", "food")]
    assert 0 < food.shrunk_effect < food.raw_effect < 1.0
    assert food.effect_lower_80 > 0 and food.recommendation == "invest"
    assert effects.loc[("topic", "news")].recommendation == "avoid"
    lone_slot = effects.loc[("publish_slot", posts.loc["lone"].publish_weekday + " night")]
    assert lone_slot["items"] == 1 and lone_slot.raw_effect > 0.5
    assert abs(lone_slot.shrunk_effect) < 0.01 and lone_slot.recommendation == "unclear"
