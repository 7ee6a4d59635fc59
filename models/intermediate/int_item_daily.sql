-- item x reporting day in the unified metric names (NULL where a platform has no such
-- metric). `daily_items` is the union of the sources that report days (each source's
-- staging, or its int_<source>__item_daily where it needs reshaping), generated from
-- union_of in the YAML; the lifetime-counter sources come through int_snapshot_daily
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
    saves,
    reach,
    impressions,
    followers_gained,
    followers_lost,
    extractions,
    is_restated,
    false as is_interpolated,
    false as is_estimated,
    false as from_snapshots,
    true as closes_exact
from daily_items
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
