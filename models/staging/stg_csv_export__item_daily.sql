-- one row per post and reporting day from daily exports. A file dropped again with
-- corrected content replaces its earlier version's rows for the days it covers; across
-- files (overlapping date ranges), the newest landing wins.
with current_files as (
    select
        *,
        max(extracted_at) over (partition by account_id, source_file, date) as newest_of_file
    from raw.csv_export__content_daily
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform, account_id, item_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from current_files
    where extracted_at = newest_of_file
)

select
    platform,
    account_id,
    item_id,
    date,
    views,
    reach,
    impressions,
    likes,
    comments,
    shares,
    saves,
    watch_time_s,
    extracted_at,
    clicks,
    followers_gained,
    export,
    source_file
from ranked
where recency = 1
