-- GA4's page days in the columns every daily source gives int_item_daily: pages only (not
-- GA4's '(other)' row nor its '(not set)' rows); reach is activeUsers, never summed
-- across days
select
    platform,
    account_id,
    item_id,
    date,
    views,
    cast(null as bigint) as engaged_views,
    cast(null as bigint) as watch_time_s,
    cast(null as double) as avg_view_pct,
    cast(null as bigint) as likes,
    cast(null as bigint) as comments,
    cast(null as bigint) as shares,
    cast(null as bigint) as saves,
    active_users as reach,
    cast(null as bigint) as impressions,
    cast(null as bigint) as followers_gained,
    cast(null as bigint) as followers_lost,
    extractions,
    is_restated
from staging.stg_ga4__page_daily
where not is_other_row and item_id not like '(%'
