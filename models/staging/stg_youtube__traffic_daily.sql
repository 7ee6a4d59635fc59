-- views by traffic source per day: for the whole channel (item_id '') and for each video
-- in its first four weeks; the newest extraction of each key wins
with landing_files as (
    -- the landing files in path order: ties of extracted_at go to the later path, and
    -- sorting millions of rows on a number instead of the path is cheaper
    select
        path,
        row_number() over (order by path) as path_order
    from meta.loaded_files
),

ranked as (
    select
        traffic.account_id,
        traffic.item_id,
        traffic.date,
        traffic.source,
        traffic.views,
        row_number() over (
            partition by traffic.account_id, traffic.item_id, traffic.date, traffic.source
            order by traffic.extracted_at desc, landing_files.path_order desc
        ) as recency
    from raw.youtube__traffic_daily as traffic
    left join landing_files on traffic.landing_file = landing_files.path
    where traffic.date >= $since
)

select
    'youtube' as platform,
    account_id,
    item_id,
    date,
    source,
    views
from ranked
where recency = 1
