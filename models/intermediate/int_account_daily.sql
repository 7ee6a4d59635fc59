-- account x reporting day totals as the platform reports them; one union branch per source
select
    platform,
    account_id,
    date,
    views,
    watch_time_s,
    followers_gained,
    followers_lost
from staging.stg_youtube__channel_daily
union all
-- GA4: the property's own daily totals
select
    platform,
    account_id,
    date,
    views,
    cast(null as bigint) as watch_time_s,
    cast(null as bigint) as followers_gained,
    cast(null as bigint) as followers_lost
from staging.stg_ga4__property_daily
