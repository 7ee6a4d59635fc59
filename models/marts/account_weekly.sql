-- one row per account and ISO week (Monday to Sunday): output, views, watch time,
-- net followers, the part of views and watch time that is estimated, and the change
-- against the week before (measured weeks only)
with days as (
    select
        platform,
        account_id,
        date,
        views,
        -- an interval inside the week is split over its days, but its week total is exact
        views_estimated - views_estimated_within_week as views_estimated,
        watch_time_s,
        watch_time_s_estimated,
        followers_gained - coalesce(followers_lost, 0) as followers_net
    from intermediate.int_account_daily
),

weekly as (
    select
        platform,
        account_id,
        cast(date_trunc('week', date) as date) as week_start,
        count(*) as days_reported,
        cast(sum(views) as bigint) as views,
        cast(sum(views_estimated) as bigint) as views_estimated,
        cast(sum(watch_time_s) as bigint) as watch_time_s,
        cast(sum(watch_time_s_estimated) as bigint) as watch_time_s_estimated,
        cast(sum(followers_net) as bigint) as followers_net
    from days
    group by platform, account_id, cast(date_trunc('week', date) as date)
),

published as (
    select
        platform,
        account_id,
        cast(date_trunc('week', published_date) as date) as week_start,
        count(*) as posts_published
    from marts.posts
    group by platform, account_id, cast(date_trunc('week', published_date) as date)
),

names as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
),

joined as (
    select
        weekly.platform,
        weekly.account_id,
        coalesce(names.account_name, weekly.account_id) as account_name,
        weekly.week_start,
        strftime(weekly.week_start, '%G-W%V') as iso_week,
        weekly.days_reported,
        coalesce(published.posts_published, 0) as posts_published,
        weekly.views,
        weekly.views_estimated,
        weekly.watch_time_s,
        weekly.watch_time_s_estimated,
        weekly.followers_net
    from weekly
    left join published
        on
            weekly.platform = published.platform
            and weekly.account_id = published.account_id
            and weekly.week_start = published.week_start
    left join names
        on weekly.platform = names.platform and weekly.account_id = names.account_id
),

with_previous as (
    select
        *,
        max(views) over previous_week as views_prev_week,
        max(views_estimated) over previous_week as views_estimated_prev_week,
        max(watch_time_s) over previous_week as watch_time_s_prev_week,
        max(followers_net) over previous_week as followers_net_prev_week,
        max(posts_published) over previous_week as posts_published_prev_week
    from joined
    -- exactly the week before: NULL when that week has no data (max over a one-row frame)
    window previous_week as (
        partition by platform, account_id
        order by week_start
        range between interval 7 days preceding and interval 7 days preceding
    )
)

select
    platform,
    account_id,
    account_name,
    week_start,
    iso_week,
    days_reported,
    days_reported = 7 as is_complete,
    posts_published,
    views,
    views_estimated,
    watch_time_s,
    watch_time_s_estimated,
    followers_net,
    views_prev_week,
    watch_time_s_prev_week,
    followers_net_prev_week,
    posts_published_prev_week,
    -- a change is stated between two measured weeks only: never from an estimate
    case
        when views_estimated = 0 and views_estimated_prev_week = 0
            then views / nullif(views_prev_week, 0) - 1
    end as views_wow_change
from with_previous
