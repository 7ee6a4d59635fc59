-- account x reporting day totals as the platform reports them; one union branch per source
-- the social platforms' own daily account totals (TikTok reports none)
with reported as (
    select
        platform,
        account_id,
        date,
        views,
        followers_gained
    from staging.stg_instagram__account_daily
    union all
    select
        platform,
        account_id,
        date,
        views,
        followers_gained
    from staging.stg_facebook__account_daily
    union all
    select
        platform,
        account_id,
        date,
        views,
        followers_gained
    from staging.stg_tiktok__account_daily
),

-- the posts' daily deltas summed per account and day
item_days as (
    select
        platform,
        account_id,
        date,
        cast(sum(views) as bigint) as views,
        cast(sum(watch_time_s) as bigint) as watch_time_s
    from intermediate.int_snapshot_daily
    group by platform, account_id, date
)

select
    platform,
    account_id,
    date,
    views,
    watch_time_s,
    followers_gained,
    followers_lost
from staging.stg_youtube__channel_daily
union all
-- GA4: the property's own daily totals
select
    platform,
    account_id,
    date,
    views,
    cast(null as bigint) as watch_time_s,
    cast(null as bigint) as followers_gained,
    cast(null as bigint) as followers_lost
from staging.stg_ga4__property_daily
union all
-- social accounts and CSV exports: the platform's own daily totals where it reports them
-- (Facebook's page views, Instagram's new followers), else the sum of the posts' daily
-- deltas (TikTok reports no account days at all)
select
    coalesce(reported.platform, items.platform) as platform,
    coalesce(reported.account_id, items.account_id) as account_id,
    coalesce(reported.date, items.date) as date,
    coalesce(reported.views, items.views) as views,
    items.watch_time_s,
    reported.followers_gained,
    cast(null as bigint) as followers_lost
from reported
full outer join item_days as items
    on
        reported.platform = items.platform
        and reported.account_id = items.account_id
        and reported.date = items.date
