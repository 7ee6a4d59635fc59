-- items published in the eight weeks ending with the report week that have a day-7
-- index, with where their audience came from (the top traffic source)
select
    perf.platform,
    perf.account_id,
    posts.account_name,
    perf.item_id,
    perf.title,
    posts.url,
    perf.format,
    posts.topic,
    perf.published_date,
    perf.age_days,
    perf.views_d7,
    perf.peer_median_d7,
    perf.peer_group,
    perf.performance_index,
    perf.performance_band,
    traffic.source as top_source,
    traffic.share as top_source_share
from marts.post_performance as perf
inner join marts.posts as posts
    on
        perf.platform = posts.platform
        and perf.account_id = posts.account_id
        and perf.item_id = posts.item_id
left join marts.post_traffic as traffic
    on
        perf.platform = traffic.platform
        and perf.account_id = traffic.account_id
        and perf.item_id = traffic.item_id
        and traffic.source_rank = 1
where
    perf.performance_index is not null
    and perf.published_date between $week_end - interval 55 days and $week_end
order by perf.performance_index desc, perf.item_id asc
