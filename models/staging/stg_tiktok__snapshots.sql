-- each video's lifetime counters per reporting day they were read (the day the counters
-- are complete through, in the account's time zone); several reads of a day keep the newest
with ranked as (
    select
        account_id,
        item_id,
        snapshot_date,
        view_count,
        reach,
        like_count,
        comment_count,
        share_count,
        total_time_watched,
        extracted_at,
        row_number() over (
            partition by account_id, item_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.tiktok__content_snapshots
)

select
    'tiktok' as platform,
    account_id,
    item_id,
    snapshot_date,
    cast(view_count as bigint) as views,
    cast(reach as bigint) as reach,
    cast(like_count as bigint) as likes,
    cast(comment_count as bigint) as comments,
    cast(share_count as bigint) as shares,
    cast(null as bigint) as saves,
    cast(total_time_watched as bigint) as watch_time_s,
    extracted_at
from ranked
where recency = 1
