-- per account, what to know about the report week's numbers: coverage, provisional,
-- restated, estimated and unreported figures (the week's estimated views as account_weekly states
-- them), the platforms' own flags, and the decay curve's error behind the estimates
with accounts as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
),

days as (
    select
        quality.platform,
        quality.account_id,
        cast(count(*) as bigint) as days_reported,
        count(*) filter (where quality.is_provisional) as provisional_days,
        coalesce(sum(quality.items_restated), 0) as items_restated,
        cast(coalesce(sum(quality.items_estimated), 0) as bigint) as items_estimated,
        cast(coalesce(sum(quality.items_corrected), 0) as bigint) as items_corrected,
        cast(coalesce(sum(quality.items_views_unreported), 0) as bigint)
            as items_views_unreported,
        count(*) filter (where quality.is_sampled) as sampled_days,
        count(*) filter (where quality.is_thresholded) as thresholded_days,
        max(quality.other_row_share) as max_other_row_share,
        min(quality.item_views_share) as min_item_views_share,
        max(quality.last_complete_date) as last_complete_date,
        max(quality.estimate_backtest_wape) as estimate_backtest_wape
    from marts.data_quality as quality
    where quality.date between $week_start and $week_end
    group by quality.platform, quality.account_id
)

select
    days.platform,
    coalesce(accounts.account_name, days.account_id) as account_name,
    days.days_reported,
    days.provisional_days,
    days.items_restated,
    days.items_estimated,
    days.items_corrected,
    days.items_views_unreported,
    weeks.views as account_views,
    coalesce(weeks.views_estimated, 0) as views_estimated,
    days.sampled_days,
    days.thresholded_days,
    days.max_other_row_share,
    days.min_item_views_share,
    days.last_complete_date,
    days.estimate_backtest_wape
from days
left join accounts
    on days.platform = accounts.platform and days.account_id = accounts.account_id
left join marts.account_weekly as weeks
    on
        days.platform = weeks.platform
        and days.account_id = weeks.account_id
        and weeks.week_start = $week_start
order by days.platform asc, account_name asc
