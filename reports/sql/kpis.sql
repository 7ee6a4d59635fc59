-- per account: the report week's figures and the week before's, from marts.account_weekly
select
    platform,
    account_id,
    account_name,
    views,
    coalesce(views_prev_week, 0) as views_prev,
    watch_time_s / 3600.0 as watch_hours,
    coalesce(watch_time_s_prev_week, 0) / 3600.0 as watch_hours_prev,
    followers_net,
    coalesce(followers_net_prev_week, 0) as followers_net_prev,
    posts_published as posts,
    coalesce(posts_published_prev_week, 0) as posts_prev
from marts.account_weekly
where week_start = $week_start
order by platform asc, account_name asc
