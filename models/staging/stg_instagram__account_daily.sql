-- the account's day insights (period=day): reach and new followers, latest extraction per
-- day. Instagram serves account views only as a total over a range, not per day: NULL.
with ranked as (
    select
        account_id,
        date,
        reach,
        follower_count,
        row_number() over (
            partition by account_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.instagram__account_daily
)

select
    'instagram' as platform,
    account_id,
    date,
    cast(null as bigint) as views,
    cast(reach as bigint) as reach,
    cast(follower_count as bigint) as followers_gained
from ranked
where recency = 1
