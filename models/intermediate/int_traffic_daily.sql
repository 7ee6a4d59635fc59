-- views (or sessions) by traffic source per day; item_id '' is the whole account
select
    platform,
    account_id,
    item_id,
    date,
    source,
    views
from staging.stg_youtube__traffic_daily
