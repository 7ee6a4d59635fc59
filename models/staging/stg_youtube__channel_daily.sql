-- one row per YouTube channel and reporting day, newest extraction wins (incremental)
with ranked as (
    select
        account_id,
        date,
        views,
        estimatedminuteswatched,
        subscribersgained,
        subscriberslost,
        row_number() over (
            partition by account_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.youtube__account_daily
    where date >= $since
)

select
    'youtube' as platform,
    account_id,
    date,
    views,
    estimatedminuteswatched * 60 as watch_time_s,
    subscribersgained as followers_gained,
    subscriberslost as followers_lost
from ranked
where recency = 1
