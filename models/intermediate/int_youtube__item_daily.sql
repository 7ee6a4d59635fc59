-- YouTube's video days in the columns every daily source gives int_item_daily: YouTube
-- reports no saves, reach or impressions per video and day
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
    is_restated
from staging.stg_youtube__video_daily
