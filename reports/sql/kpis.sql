-- per account: this week's and last week's views, watch hours, net followers, posts
with days as (
    select
        platform,
        account_id,
        date,
        views,
        watch_time_s,
        followers_gained - followers_lost as followers_net
    from staging.stg_youtube__channel_daily
),

weekly as (
    select
        platform,
        account_id,
        sum(views) filter (where date between $week_start and $week_end) as views,
        sum(views) filter (
            where date between $week_start - interval 7 days and $week_end - interval 7 days
        ) as views_prev,
        sum(watch_time_s) filter (where date between $week_start and $week_end) / 3600.0
            as watch_hours,
        sum(watch_time_s) filter (
            where date between $week_start - interval 7 days and $week_end - interval 7 days
        ) / 3600.0 as watch_hours_prev,
        sum(followers_net) filter (where date between $week_start and $week_end)
            as followers_net,
        sum(followers_net) filter (
            where date between $week_start - interval 7 days and $week_end - interval 7 days
        ) as followers_net_prev
    from days
    group by platform, account_id
),

names as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
),

published as (
    select
        platform,
        account_id,
        count(*) filter (where published_date between $week_start and $week_end) as posts,
        count(*) filter (
            where published_date between $week_start - interval 7 days and $week_end - interval 7 days
        ) as posts_prev
    from marts.posts
    group by platform, account_id
)

select
    weekly.platform,
    weekly.account_id,
    coalesce(names.account_name, weekly.account_id) as account_name,
    coalesce(weekly.views, 0) as views,
    coalesce(weekly.views_prev, 0) as views_prev,
    coalesce(weekly.watch_hours, 0) as watch_hours,
    coalesce(weekly.watch_hours_prev, 0) as watch_hours_prev,
    coalesce(weekly.followers_net, 0) as followers_net,
    coalesce(weekly.followers_net_prev, 0) as followers_net_prev,
    coalesce(published.posts, 0) as posts,
    coalesce(published.posts_prev, 0) as posts_prev
from weekly
left join published
    on weekly.platform = published.platform and weekly.account_id = published.account_id
left join names
    on weekly.platform = names.platform and weekly.account_id = names.account_id
order by weekly.platform, account_name
