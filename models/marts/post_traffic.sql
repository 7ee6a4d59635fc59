-- one row per item and traffic source: where its audience came from while the platform
-- reports sources per item (YouTube: the first 28 days); incremental: the items with
-- traffic days from $since are recomputed whole
with changed as (
    select distinct
        platform,
        account_id,
        item_id
    from intermediate.int_traffic_daily
    where date >= $since and item_id <> ''
),

sources as (
    select
        traffic.platform,
        traffic.account_id,
        traffic.item_id,
        traffic.source,
        cast(sum(traffic.views) as bigint) as views,
        min(traffic.date) as first_date,
        max(traffic.date) as last_date
    from intermediate.int_traffic_daily as traffic
    inner join changed
        on
            traffic.platform = changed.platform
            and traffic.account_id = changed.account_id
            and traffic.item_id = changed.item_id
    group by traffic.platform, traffic.account_id, traffic.item_id, traffic.source
)

select
    platform,
    account_id,
    item_id,
    source,
    views,
    views / nullif(sum(views) over (partition by platform, account_id, item_id), 0) as share,
    row_number() over (
        partition by platform, account_id, item_id order by views desc, source asc
    ) as source_rank,
    first_date,
    last_date
from sources
