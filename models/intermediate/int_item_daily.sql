-- item x reporting day in the unified metric names (NULL where a platform has no such
-- metric); a new source adds one union branch here
select
    platform,
    account_id,
    item_id,
    date,
    views,
    engaged_views,
    watch_time_s,
    avg_view_pct,
    likes,
    comments,
    shares,
    cast(null as bigint) as saves,
    cast(null as bigint) as reach,
    cast(null as bigint) as impressions,
    followers_gained,
    followers_lost,
    extractions,
    is_restated,
    false as is_interpolated
from staging.stg_youtube__video_daily
