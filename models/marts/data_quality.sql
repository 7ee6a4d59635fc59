-- one row per source, account and reporting day: what arrived, how complete and final it
-- is, what was restated or estimated or corrected, which post-days the platform gave no
-- views for and why, and the flags a platform reports about its own numbers
with item_days as (
    select
        platform,
        account_id,
        date,
        count(*) as items_reported,
        cast(sum(views) as bigint) as item_views,
        count(*) filter (where is_restated) as items_restated,
        max(extractions) as max_extractions,
        count(*) filter (where is_interpolated) as items_interpolated,
        count(*) filter (where is_estimated) as items_estimated,
        count(*) filter (where views is null) as items_views_unreported
    from intermediate.int_item_daily
    group by platform, account_id, date
),

view_issues as (
    -- why a platform gave no views for a post, where it said: its insight issues on a
    -- native name of views (empty, 10 = not enough viewers, 100, unsupported, ...);
    -- `insight_issues` is the union of the sources' (union_of in the YAML)
    select distinct
        issues.platform,
        issues.account_id,
        issues.item_id,
        issues.code
    from insight_issues as issues
    inner join marts.metric_dictionary as dictionary
        on
            issues.platform = dictionary.platform
            and issues.metric = dictionary.native_name
            and dictionary.metric = 'views'
),

unreported as (
    -- the reasons behind each account-day's post-days without views ('unexplained' where
    -- the platform recorded none)
    select
        daily.platform,
        daily.account_id,
        daily.date,
        list_sort(list(distinct coalesce(view_issues.code, 'unexplained')))
            as views_unreported_reasons
    from intermediate.int_item_daily as daily
    left join view_issues
        on
            daily.platform = view_issues.platform
            and daily.account_id = view_issues.account_id
            and daily.item_id = view_issues.item_id
    where daily.views is null
    group by daily.platform, daily.account_id, daily.date
),

account_days as (
    select
        platform,
        account_id,
        date,
        views as account_views,
        views_estimated,
        views_source
    from intermediate.int_account_daily
),

estimator as (
    -- the decay curve behind an account's estimates, and its out-of-sample error
    select
        platform,
        account_id,
        any_value(curve_source) as estimate_curve_source,
        any_value(backtest_wape) as estimate_backtest_wape
    from intermediate.int_decay_curves
    group by platform, account_id
),

corrections as (
    -- a lifetime counter that went down: the platform's correction, dated at the read
    select
        platform,
        account_id,
        snapshot_date as date,
        count(*) as items_corrected,
        cast(coalesce(sum(least(views, 0)), 0) as bigint) as views_corrected
    from intermediate.int_snapshot_intervals
    where is_correction
    group by platform, account_id, snapshot_date
),

days as (
    select
        coalesce(item_days.platform, account_days.platform) as platform,
        coalesce(item_days.account_id, account_days.account_id) as account_id,
        coalesce(item_days.date, account_days.date) as date,
        coalesce(item_days.items_reported, 0) as items_reported,
        item_days.item_views,
        account_days.account_views,
        coalesce(item_days.items_restated, 0) as items_restated,
        coalesce(item_days.items_interpolated, 0) as items_interpolated,
        coalesce(item_days.items_estimated, 0) as items_estimated,
        coalesce(item_days.items_views_unreported, 0) as items_views_unreported,
        account_days.views_estimated,
        account_days.views_source,
        item_days.max_extractions
    from item_days
    full outer join account_days
        on
            item_days.platform = account_days.platform
            and item_days.account_id = account_days.account_id
            and item_days.date = account_days.date
)

select
    days.platform,
    days.account_id,
    days.date,
    days.items_reported,
    days.item_views,
    days.account_views,
    -- an estimated item-day is a share of an interval, not that day's views: no share
    case
        when days.items_estimated = 0
            then days.item_views / nullif(days.account_views, 0)
    end as item_views_share,
    days.items_restated,
    days.items_interpolated,
    days.items_estimated,
    days.views_estimated,
    days.views_estimated / nullif(days.account_views, 0) as estimated_share,
    days.views_source,
    days.items_views_unreported,
    unreported.views_unreported_reasons,
    coalesce(corrections.items_corrected, 0) as items_corrected,
    coalesce(corrections.views_corrected, 0) as views_corrected,
    estimator.estimate_curve_source,
    estimator.estimate_backtest_wape,
    days.max_extractions,
    coverage.last_date as last_complete_date,
    coalesce(date_diff('day', days.date, coverage.last_date) < 2, true) as is_provisional,
    coverage.last_extracted_at,
    -- flags the platform reports about its own numbers (GA4); NULL where it reports none
    flags.is_sampled,
    flags.is_thresholded,
    flags.other_row_share,
    flags.not_set_row_share
from days
left join intermediate.int_coverage as coverage
    on days.platform = coverage.platform and days.account_id = coverage.account_id
left join estimator
    on days.platform = estimator.platform and days.account_id = estimator.account_id
left join unreported
    on
        days.platform = unreported.platform
        and days.account_id = unreported.account_id
        and days.date = unreported.date
left join corrections
    on
        days.platform = corrections.platform
        and days.account_id = corrections.account_id
        and days.date = corrections.date
left join intermediate.int_data_flags_daily as flags
    on
        days.platform = flags.platform
        and days.account_id = flags.account_id
        and days.date = flags.date
