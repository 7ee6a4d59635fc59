-- one row per item and traffic source: where its audience came from while the platform
-- reports sources per item (YouTube: the first 28 days)
with sources as (
    select
        platform,
        account_id,
        item_id,
        source,
        cast(sum(views) as bigint) as views,
        min(date) as first_date,
        max(date) as last_date
    from intermediate.int_traffic_daily
    where item_id <> ''
    group by platform, account_id, item_id, source
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
