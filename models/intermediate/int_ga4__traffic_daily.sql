-- GA4's views by session source / medium in the columns of int_traffic_daily: per page
-- (not the '(other)' and '(not set)' rows) and for the whole property (item_id '', every
-- row), each summed over campaigns
select
    platform,
    account_id,
    case when grouping(item_id) = 1 then '' else item_id end as item_id,
    date,
    session_source || ' / ' || session_medium as source,
    cast(sum(views) as bigint) as views
from staging.stg_ga4__traffic_daily
group by
    grouping sets (
        (platform, account_id, item_id, date, session_source, session_medium),
        (platform, account_id, date, session_source, session_medium)
    )
having grouping(item_id) = 1 or item_id not like '(%'
