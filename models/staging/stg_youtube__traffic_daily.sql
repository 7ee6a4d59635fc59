-- views by traffic source per day: for the whole channel (item_id '') and for each video
-- in its first four weeks; the newest extraction of each key wins
with ranked as (
    select
        account_id,
        item_id,
        date,
        source,
        views,
        row_number() over (
            partition by account_id, item_id, date, source
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.youtube__traffic_daily
    where date >= $since
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
