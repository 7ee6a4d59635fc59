-- each Page post's lifetime counters per reporting day they were read (the day the counters
-- are complete through, in the Page's time zone); several reads of a day keep the newest
with ranked as (
    select
        account_id,
        item_id,
        snapshot_date,
        post_media_view,
        post_total_media_view_unique,
        reactions,
        comments,
        shares,
        post_video_view_time,
        extracted_at,
        row_number() over (
            partition by account_id, item_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.facebook__content_snapshots
)

select
    'facebook' as platform,
    account_id,
    item_id,
    snapshot_date,
    cast(post_media_view as bigint) as views,
    cast(post_total_media_view_unique as bigint) as reach,
    cast(reactions as bigint) as likes,
    cast(comments as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(null as bigint) as saves,
    cast(post_video_view_time / 1000 as bigint) as watch_time_s,
    extracted_at
from ranked
where recency = 1
