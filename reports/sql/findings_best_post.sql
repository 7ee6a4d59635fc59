-- the item with the highest performance index among those whose day-7 mark (age 6) falls
-- in the report week, with the traffic source that brought most of its first-week views
with candidates as (
    select
        performance.platform,
        performance.account_id,
        performance.item_id,
        posts.title,
        coalesce(posts.account_name, performance.account_id) as account_name,
        performance.format,
        performance.published_date,
        performance.views_d7,
        performance.peer_median_d7,
        performance.peer_group,
        performance.performance_index
    from marts.post_performance as performance
    inner join marts.posts as posts
        on
            performance.platform = posts.platform
            and performance.account_id = posts.account_id
            and performance.item_id = posts.item_id
    where
        performance.performance_index is not null
        and performance.published_date + 6 between $week_start and $week_end
    order by performance.performance_index desc, performance.item_id asc
    limit 1
),

traffic as (
    -- per-item sources exist only where the platform reports them (YouTube: first 28 days)
    select
        platform,
        account_id,
        item_id,
        date,
        source,
        views
    from staging.stg_youtube__traffic_daily
    where item_id <> ''
),

first_week_sources as (
    select
        traffic.source,
        sum(traffic.views) as source_views
    from traffic
    inner join candidates
        on
            traffic.platform = candidates.platform
            and traffic.account_id = candidates.account_id
            and traffic.item_id = candidates.item_id
    where traffic.date between candidates.published_date and candidates.published_date + 6
    group by traffic.source
),

top_source as (
    select
        source,
        source_views,
        source_views / nullif(sum(source_views) over (), 0) as source_share
    from first_week_sources
    qualify row_number() over (order by source_views desc, source asc) = 1
)

select
    candidates.platform,
    candidates.account_id,
    candidates.item_id,
    candidates.title,
    candidates.account_name,
    candidates.format,
    candidates.published_date,
    candidates.views_d7,
    candidates.peer_median_d7,
    candidates.peer_group,
    candidates.performance_index,
    top_source.source as top_source,
    top_source.source_views as top_source_views,
    top_source.source_share as top_source_share
from candidates
left join top_source on true
