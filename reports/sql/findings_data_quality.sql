-- per account: the report week's provisional and restated days, the newest complete day
-- the platform has returned (from every row, so an account silent all week shows), and
-- when it was last read (an account the last run failed to read lags the others)
with names as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
),

accounts as (
    select
        platform,
        account_id,
        max(last_complete_date) as last_complete_date,
        max(last_extracted_at) as last_extracted_at
    from marts.data_quality
    group by platform, account_id
),

week as (
    select
        platform,
        account_id,
        list(date order by date) filter (where is_provisional) as provisional_dates,
        count(*) filter (where items_restated > 0) as restated_days,
        cast(coalesce(sum(items_restated), 0) as bigint) as items_restated
    from marts.data_quality
    where date between $week_start and $week_end
    group by platform, account_id
)

select
    accounts.platform,
    accounts.account_id,
    coalesce(names.account_name, accounts.account_id) as account_name,
    accounts.last_complete_date,
    accounts.last_extracted_at,
    coalesce(week.provisional_dates, []) as provisional_dates,
    coalesce(week.restated_days, 0) as restated_days,
    coalesce(week.items_restated, 0) as items_restated
from accounts
left join week
    on accounts.platform = week.platform and accounts.account_id = week.account_id
left join names
    on accounts.platform = names.platform and accounts.account_id = names.account_id
order by accounts.platform asc, account_name asc
