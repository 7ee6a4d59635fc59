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
