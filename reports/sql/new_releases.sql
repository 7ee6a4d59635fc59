-- releases of the four weeks ending with the report week: cumulative views by age
-- (days since publish), through the report week's end
select
    posts.platform,
    posts.account_id,
    posts.account_name,
    posts.item_id,
    posts.title,
    posts.format,
    posts.published_date,
    daily.age_days,
    daily.cumulative_views
from marts.posts as posts
inner join marts.post_daily as daily
    on
        posts.platform = daily.platform
        and posts.account_id = daily.account_id
        and posts.item_id = daily.item_id
where
    posts.published_date between $week_end - interval 27 days and $week_end
    and daily.date <= $week_end
    and daily.age_days between 0 and 27
order by posts.account_name asc, posts.published_date asc, daily.age_days asc
