-- lifetime counters per post as of each export date (snapshot exports): one row per post
-- and snapshot date. A file dropped again with corrected content replaces its earlier
-- version's rows for the days it covers (rows the correction dropped go too); across
-- files, the newest landing wins.
with current_files as (
    select
        *,
        max(extracted_at) over (
            partition by account_id, source_file, snapshot_date
        ) as newest_of_file
    from raw.csv_export__content_snapshots
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform, account_id, item_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from current_files
    where extracted_at = newest_of_file
)

select
    platform,
    account_id,
    item_id,
    snapshot_date,
    views,
    reach,
    likes,
    comments,
    shares,
    saves,
    watch_time_s,
    extracted_at,
    impressions,
    clicks,
    followers_gained,
    export,
    source_file
from ranked
where recency = 1
