-- CSV exports with one row per post and day (a social suite's daily export) in the
-- columns every daily source gives int_item_daily (staging keeps the newest landing of a
-- day: counted as one extraction, never flagged restated)
select
    platform,
    account_id,
    item_id,
    date,
    views,
    cast(null as bigint) as engaged_views,
    watch_time_s,
    cast(null as double) as avg_view_pct,
    likes,
    comments,
    shares,
    saves,
    reach,
    impressions,
    followers_gained,
    cast(null as bigint) as followers_lost,
    1 as extractions,
    false as is_restated
from staging.stg_csv_export__item_daily
