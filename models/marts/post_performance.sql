-- one row per item: lifetime totals, views at ages 1/7/30/90, engagement by each
-- denominator (raw and shrunk), attention, decay, forecasts with their backtest error, and
-- the performance index against peers (same platform, account, format, published in the
-- 180 days before; at least 5 of them, else the platform x format portfolio group)
with items as (
    select
        totals.platform,
        totals.account_id,
        totals.item_id,
        posts.title,
        posts.format,
        posts.length_bucket,
        posts.published_at,
        posts.published_date,
        totals.age_days,
        totals.views,
        totals.watch_time_s,
        totals.impressions,
        totals.likes,
        totals.comments,
        totals.shares,
        totals.engagements,
        totals.followers_gained,
        totals.views_d1,
        totals.views_d7,
        totals.views_d30,
        totals.views_d90
    from intermediate.int_item_totals as totals
    inner join marts.posts as posts
        on
            totals.platform = posts.platform
            and totals.account_id = posts.account_id
            and totals.item_id = posts.item_id
),

known_followers as (
    select
        platform,
        account_id,
        date,
        followers
    from intermediate.int_account_followers
    where followers is not null
),

first_known_followers as (
    select
        platform,
        account_id,
        arg_min(followers, date) as followers_first_known
    from known_followers
    group by platform, account_id
),

followers_at_publish as (
    -- the account's followers at the end of the day before publish (or the first day known):
    -- an as-of join, not every item against every day of its account
    select
        items.platform,
        items.account_id,
        items.item_id,
        known.followers as followers_before,
        first_known.followers_first_known
    from items
    asof left join known_followers as known
        on
            items.platform = known.platform
            and items.account_id = known.account_id
            and items.published_date > known.date
    left join first_known_followers as first_known
        on items.platform = first_known.platform and items.account_id = first_known.account_id
),

peers as (
    select
        *,
        count(views_d7) over account_peers as account_peer_count,
        median(views_d7) over account_peers as account_peer_median_d7,
        quantile_cont(views_d7, 0.2) over account_peers as account_peer_p20_d7,
        quantile_cont(views_d7, 0.8) over account_peers as account_peer_p80_d7,
        count(views_d7) over portfolio_peers as portfolio_peer_count,
        median(views_d7) over portfolio_peers as portfolio_peer_median_d7,
        quantile_cont(views_d7, 0.2) over portfolio_peers as portfolio_peer_p20_d7,
        quantile_cont(views_d7, 0.8) over portfolio_peers as portfolio_peer_p80_d7,
        median(views_d30) over account_peers as account_peer_median_d30,
        count(views_d30) over account_peers as account_peer_count_d30
    from items
    window
        account_peers as (
            partition by platform, account_id, format
            order by published_at
            range between interval 180 days preceding and interval 1 microsecond preceding
        ),
        portfolio_peers as (
            partition by platform, format
            order by published_at
            range between interval 180 days preceding and interval 1 microsecond preceding
        )
),

peer_logs as (
    -- each item with a day-7 figure against its account-format peers (published in the 180
    -- days before it), on the log scale the index uses: one list per item, built by a window
    select
        platform,
        account_id,
        item_id,
        ln(views_d7 + 1) as own_log_d7,
        list(ln(views_d7 + 1)) filter (where views_d7 is not null) over (
            partition by platform, account_id, format
            order by published_at
            range between interval 180 days preceding and interval 1 microsecond preceding
        ) as logs
    from items
),

peer_center as (
    select
        platform,
        account_id,
        item_id,
        own_log_d7,
        logs,
        list_median(logs) as peer_log_median
    from peer_logs
    where own_log_d7 is not null and len(logs) >= 5
),

robust as (
    -- the share of peers beaten (ties count half), and the median absolute deviation of the
    -- peers around their own median
    select
        platform,
        account_id,
        item_id,
        peer_log_median,
        (
            len(list_filter(logs, lambda x: x < own_log_d7))
            + 0.5 * len(list_filter(logs, lambda x: x = own_log_d7))
        ) / len(logs) as peer_percentile,
        list_median(list_transform(logs, lambda x: abs(x - peer_log_median))) as peer_log_mad
    from peer_center
),

chosen as (
    select
        *,
        case
            when account_peer_count >= 5 then 'account_format'
            when portfolio_peer_count >= 5 then 'platform_format'
        end as peer_group,
        case
            when account_peer_count >= 5 then account_peer_count
            when portfolio_peer_count >= 5 then portfolio_peer_count
        end as peer_count,
        case
            when account_peer_count >= 5 then account_peer_median_d7
            when portfolio_peer_count >= 5 then portfolio_peer_median_d7
        end as peer_median_d7,
        case
            when account_peer_count >= 5 then account_peer_p20_d7
            when portfolio_peer_count >= 5 then portfolio_peer_p20_d7
        end as peer_p20_d7,
        case
            when account_peer_count >= 5 then account_peer_p80_d7
            when portfolio_peer_count >= 5 then portfolio_peer_p80_d7
        end as peer_p80_d7
    from peers
),

scored as (
    select
        chosen.*,
        robust.peer_percentile,
        robust.peer_log_median,
        robust.peer_log_mad
    from chosen
    left join robust
        on
            chosen.platform = robust.platform
            and chosen.account_id = robust.account_id
            and chosen.item_id = robust.item_id
)

select
    scored.platform,
    scored.account_id,
    scored.item_id,
    scored.title,
    scored.format,
    scored.length_bucket,
    scored.published_at,
    scored.published_date,
    scored.age_days,
    scored.views,
    scored.watch_time_s,
    scored.likes,
    scored.comments,
    scored.shares,
    scored.engagements,
    scored.followers_gained,
    scored.views_d1,
    scored.views_d7,
    scored.views_d30,
    scored.views_d90,
    scored.engagements / nullif(scored.views, 0) as er_by_views,
    rates.er_by_views_shrunk,
    rates.er_by_views_lower_80,
    rates.er_by_views_upper_80,
    coalesce(followers.followers_before, followers.followers_first_known) as followers_at_publish,
    scored.engagements
    / nullif(coalesce(followers.followers_before, followers.followers_first_known), 0)
        as er_by_followers,
    scored.engagements / nullif(scored.impressions, 0) as er_by_impressions,
    scored.watch_time_s / nullif(scored.views, 0) as attention_s_per_view,
    decay.half_life_days,
    decay.share_after_d30,
    decay.decay_class,
    forecast.views_d30_forecast,
    forecast.views_d30_forecast_lower_80,
    forecast.views_d30_forecast_upper_80,
    fit_d30.backtest_mdape as views_d30_forecast_backtest_mdape,
    fit_d30.backtest_coverage_80 as views_d30_forecast_backtest_coverage_80,
    forecast.views_d90_forecast,
    forecast.views_d90_forecast_lower_80,
    forecast.views_d90_forecast_upper_80,
    fit_d90.backtest_mdape as views_d90_forecast_backtest_mdape,
    fit_d90.backtest_coverage_80 as views_d90_forecast_backtest_coverage_80,
    scored.peer_group,
    scored.peer_count,
    scored.peer_median_d7,
    scored.peer_p20_d7,
    scored.peer_p80_d7,
    ln((scored.views_d7 + 1) / (scored.peer_median_d7 + 1)) as performance_index,
    case
        when scored.views_d7 is null or scored.peer_median_d7 is null then null
        when scored.views_d7 < scored.peer_p20_d7 then 'below'
        when scored.views_d7 > scored.peer_p80_d7 then 'above'
        else 'typical'
    end as performance_band,
    case
        when scored.account_peer_count_d30 >= 5
            then ln((scored.views_d30 + 1) / (scored.account_peer_median_d30 + 1))
    end as performance_index_d30,
    scored.peer_percentile,
    0.6745 * (ln(scored.views_d7 + 1) - scored.peer_log_median)
    / nullif(scored.peer_log_mad, 0) as robust_z,
    coalesce(
        abs(
            0.6745 * (ln(scored.views_d7 + 1) - scored.peer_log_median)
            / nullif(scored.peer_log_mad, 0)
        ) > 3.5,
        false
    ) as is_outlier
from scored
left join followers_at_publish as followers
    on
        scored.platform = followers.platform
        and scored.account_id = followers.account_id
        and scored.item_id = followers.item_id
left join intermediate.int_item_rates as rates
    on
        scored.platform = rates.platform
        and scored.account_id = rates.account_id
        and scored.item_id = rates.item_id
left join intermediate.int_post_decay as decay
    on
        scored.platform = decay.platform
        and scored.account_id = decay.account_id
        and scored.item_id = decay.item_id
left join intermediate.int_forecast as forecast
    on
        scored.platform = forecast.platform
        and scored.account_id = forecast.account_id
        and scored.item_id = forecast.item_id
left join intermediate.int_forecast_fits as fit_d30
    on
        scored.platform = fit_d30.platform
        and scored.format = fit_d30.format
        and fit_d30.horizon = 'd7_to_d30'
left join intermediate.int_forecast_fits as fit_d90
    on
        scored.platform = fit_d90.platform
        and scored.format = fit_d90.format
        and fit_d90.horizon = forecast.views_d90_forecast_basis || '_to_d90'
