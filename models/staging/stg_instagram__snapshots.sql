-- each media's lifetime counters per reporting day they were read (the day the counters are
-- complete through, in the account's time zone); several reads of a day keep the newest.
-- Insights win over the media fields where both exist: they are what Meta's UI shows.
with ranked as (
    select
        account_id,
        item_id,
        snapshot_date,
        views,
        reach,
        likes,
        like_count,
        comments,
        comments_count,
        replies,
        shares,
        saved,
        ig_reels_video_view_total_time,
        extracted_at,
        row_number() over (
            partition by account_id, item_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.instagram__content_snapshots
)

select
    'instagram' as platform,
    account_id,
    item_id,
    snapshot_date,
    cast(views as bigint) as views,
    cast(reach as bigint) as reach,
    cast(coalesce(likes, like_count) as bigint) as likes,
    cast(coalesce(comments, replies, comments_count) as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(saved as bigint) as saves,
    cast(ig_reels_video_view_total_time / 1000 as bigint) as watch_time_s,
    extracted_at
from ranked
where recency = 1
