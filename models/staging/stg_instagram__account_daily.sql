-- the account's day insights: reach and new followers (period=day time series) and views
-- (one total_value a day, the only way Instagram serves account views), latest extraction
-- per day; files landed before views were read have none (NULL)
with ranked as (
    select
        account_id,
        date,
        views,
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
    cast(views as bigint) as views,
    cast(reach as bigint) as reach,
    cast(follower_count as bigint) as followers_gained,
    cast(null as bigint) as followers_lost,
    cast(null as bigint) as watch_time_s
from ranked
where recency = 1
