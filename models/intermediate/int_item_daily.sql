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
    false as is_interpolated,
    false as is_estimated,
    false as from_snapshots,
    true as closes_exact
from staging.stg_youtube__video_daily
union all
-- GA4 pages (not GA4's '(other)' row); reach is activeUsers, never summed across days
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
    is_restated,
    false as is_interpolated,
    false as is_estimated,
    false as from_snapshots,
    true as closes_exact
from staging.stg_ga4__page_daily
where not is_other_row and item_id not like '(%'
union all
-- lifetime-counter platforms (Instagram, Facebook, TikTok, CSV snapshot exports): daily
-- deltas of consecutive snapshots, the days inside an interval estimated (flagged)
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
    cast(null as bigint) as impressions,
    cast(null as bigint) as followers_gained,
    cast(null as bigint) as followers_lost,
    1 as extractions,
    false as is_restated,
    is_interpolated,
    is_estimated,
    true as from_snapshots,
    closes_gap as closes_exact
from intermediate.int_snapshot_daily
union all
-- CSV exports with one row per post and day (a social suite's daily export)
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
    false as is_restated,
    false as is_interpolated,
    false as is_estimated,
    false as from_snapshots,
    true as closes_exact
from staging.stg_csv_export__item_daily
