-- median performance index per platform x format (rows) and account (columns) for
-- releases of the twelve weeks ending with the report week
select
    perf.platform,
    perf.format,
    posts.account_name,
    count(*) as items,
    median(perf.performance_index) as median_index
from marts.post_performance as perf
inner join marts.posts as posts
    on
        perf.platform = posts.platform
        and perf.account_id = posts.account_id
        and perf.item_id = posts.item_id
where
    perf.performance_index is not null
    and perf.published_date between $week_end - interval 83 days and $week_end
group by perf.platform, perf.format, posts.account_name
order by perf.platform asc, perf.format asc, posts.account_name asc
