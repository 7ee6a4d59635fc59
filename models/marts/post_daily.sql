-- one row per item and reporting day: unified metrics, age and running totals
with daily as (
    select
        platform,
        account_id,
        item_id,
        date,
        views,
        engaged_views,
        watch_time_s,
        avg_view_pct,
        likes,
        comments,
        shares,
        followers_gained,
        followers_lost
    from staging.stg_youtube__video_daily
),

coverage as (
    -- the newest day each account's API has returned; the two days up to it are still
    -- provisional (YouTube restates them while it finalises a day)
    select
        platform,
        account_id,
        max(last_date_returned) as last_date
    from staging.stg_youtube__extractions
    group by platform, account_id
),

posts as (
    select
        platform,
        account_id,
        item_id,
        published_date
    from marts.posts
)

select
    daily.platform,
    daily.account_id,
    daily.item_id,
    daily.date,
    date_diff('day', posts.published_date, daily.date) as age_days,
    daily.views,
    daily.engaged_views,
    daily.watch_time_s,
    daily.avg_view_pct,
    daily.likes,
    daily.comments,
    daily.shares,
    cast(null as bigint) as saves,
    daily.followers_gained,
    daily.followers_lost,
    coalesce(date_diff('day', daily.date, coverage.last_date) < 2, true) as is_provisional,
    cast(sum(daily.views) over (
        partition by daily.platform, daily.account_id, daily.item_id
        order by daily.date
    ) as bigint) as cumulative_views
from daily
inner join posts
    on
        daily.platform = posts.platform
        and daily.account_id = posts.account_id
        and daily.item_id = posts.item_id
left join coverage
    on daily.platform = coverage.platform and daily.account_id = coverage.account_id
