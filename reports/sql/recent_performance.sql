-- items published in the eight weeks ending with the report week that have a day-7 index
select
    perf.platform,
    perf.account_id,
    posts.account_name,
    perf.item_id,
    perf.title,
    posts.url,
    perf.format,
    perf.published_date,
    perf.age_days,
    perf.views_d7,
    perf.peer_median_d7,
    perf.peer_group,
    perf.performance_index,
    perf.performance_band
from marts.post_performance as perf
inner join marts.posts as posts
    on
        perf.platform = posts.platform
        and perf.account_id = posts.account_id
        and perf.item_id = posts.item_id
where
    perf.performance_index is not null
    and perf.published_date between $week_end - interval 55 days and $week_end
order by perf.performance_index desc, perf.item_id asc
