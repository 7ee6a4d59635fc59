-- per account: the eight ISO weeks ending with the report week, for tiles and sparklines
select
    platform,
    account_id,
    account_name,
    week_start,
    views,
    views_estimated,
    watch_time_s / 3600.0 as watch_hours,
    watch_time_s_estimated / 3600.0 as watch_hours_estimated,
    followers_net,
    posts_published as posts,
    is_complete
from marts.account_weekly
where week_start between $week_start - interval 49 days and $week_start
order by platform asc, account_name asc, week_start asc
