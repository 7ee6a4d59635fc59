-- per platform x format and horizon: the Szabo-Huberman log-linear growth
-- ln(views_to + 1) = ln(views_from + 1) + b, with b and the residual spread fitted on the
-- items old enough to know both, and a backtest beside it: the newest quarter of those
-- items (by publish time) held out, the fit redone on the older ones, and the held-out
-- items predicted with the forecast's own interval
with settings as (
    select
        5 as min_items,  -- a fit needs at least this many items (as peer groups do)
        0.25 as holdout_share,
        1.2815515655446004 as z_80  -- the standard normal's 90th percentile
),

horizons as (
    select
        ages.horizon,
        ages.from_age_days,
        ages.to_age_days
    from (
        values
        ('d7_to_d30', 6, 29),
        ('d7_to_d90', 6, 89),
        ('d30_to_d90', 29, 89)
    ) as ages (horizon, from_age_days, to_age_days)
),

pairs as (
    -- every item whose views at both ages are known, once per horizon
    select
        totals.platform,
        totals.format,
        totals.account_id,
        totals.item_id,
        totals.published_at,
        horizons.horizon,
        horizons.from_age_days,
        horizons.to_age_days,
        case when horizons.from_age_days = 6 then totals.views_d7 else totals.views_d30 end
            as views_from,
        case when horizons.to_age_days = 29 then totals.views_d30 else totals.views_d90 end
            as views_to
    from intermediate.int_item_totals as totals
    cross join horizons
    where totals.age_days >= horizons.to_age_days
),

growth as (
    select
        *,
        ln(views_to + 1) - ln(views_from + 1) as log_growth,
        row_number() over newest_first as newness,
        count(*) over newest_first_all as pair_items
    from pairs
    window
        newest_first as (
            partition by platform, format, horizon
            order by published_at desc, account_id desc, item_id desc
        ),
        newest_first_all as (partition by platform, format, horizon)
),

fits as (
    select
        platform,
        format,
        horizon,
        any_value(from_age_days) as from_age_days,
        any_value(to_age_days) as to_age_days,
        count(*) as fit_items,
        avg(log_growth order by account_id, item_id) as log_growth,
        stddev_samp(log_growth order by account_id, item_id) as log_growth_sd
    from growth
    group by platform, format, horizon
),

split as (
    select
        growth.*,
        growth.newness <= ceil(growth.pair_items * settings.holdout_share) as is_held_out
    from growth
    cross join settings
),

cutoffs as (
    select
        platform,
        format,
        horizon,
        min(published_at) as cutoff_at
    from split
    where is_held_out
    group by platform, format, horizon
),

training as (
    select
        platform,
        format,
        horizon,
        count(*) as train_items,
        avg(log_growth order by account_id, item_id) as log_growth,
        stddev_samp(log_growth order by account_id, item_id) as log_growth_sd
    from split
    where not is_held_out
    group by platform, format, horizon
),

backtest_predictions as (
    select
        split.platform,
        split.format,
        split.horizon,
        split.account_id,
        split.item_id,
        split.views_from,
        split.views_to,
        exp(ln(split.views_from + 1) + training.log_growth) - 1 as predicted,
        greatest(
            exp(
                ln(split.views_from + 1) + training.log_growth
                - settings.z_80 * training.log_growth_sd * sqrt(1 + 1 / training.train_items)
            ) - 1,
            split.views_from
        ) as predicted_lower_80,
        exp(
            ln(split.views_from + 1) + training.log_growth
            + settings.z_80 * training.log_growth_sd * sqrt(1 + 1 / training.train_items)
        ) - 1 as predicted_upper_80
    from split
    inner join training
        on
            split.platform = training.platform
            and split.format = training.format
            and split.horizon = training.horizon
    cross join settings
    where split.is_held_out and training.train_items >= settings.min_items
),

backtests as (
    select
        platform,
        format,
        horizon,
        count(*) as backtest_items,
        median(abs(predicted - views_to) / views_to) filter (where views_to > 0)
            as backtest_mdape,
        avg(
            case
                when views_to between predicted_lower_80 and predicted_upper_80 then 1.0
                else 0.0
            end
            order by account_id, item_id
        ) as backtest_coverage_80
    from backtest_predictions
    group by platform, format, horizon
)

select
    fits.platform,
    fits.format,
    fits.horizon,
    fits.from_age_days,
    fits.to_age_days,
    fits.fit_items,
    case when fits.fit_items >= settings.min_items then fits.log_growth end as log_growth,
    case when fits.fit_items >= settings.min_items then fits.log_growth_sd end as log_growth_sd,
    case when fits.fit_items >= settings.min_items then exp(fits.log_growth) end as growth_factor,
    cutoffs.cutoff_at as backtest_cutoff_at,
    coalesce(training.train_items, 0) as backtest_train_items,
    coalesce(backtests.backtest_items, 0) as backtest_items,
    backtests.backtest_mdape,
    backtests.backtest_coverage_80
from fits
cross join settings
left join cutoffs
    on
        fits.platform = cutoffs.platform
        and fits.format = cutoffs.format
        and fits.horizon = cutoffs.horizon
left join training
    on
        fits.platform = training.platform
        and fits.format = training.format
        and fits.horizon = training.horizon
left join backtests
    on
        fits.platform = backtests.platform
        and fits.format = backtests.format
        and fits.horizon = backtests.horizon
