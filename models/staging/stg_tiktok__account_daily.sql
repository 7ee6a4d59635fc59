-- a business account's metrics by day (Business API business/get/), latest extraction per
-- day. followers_gained is the change of the followers total from the day before (net:
-- follows less unfollows), NULL when the day before was not landed or either total is
-- missing. TikTok gives no account reach: NULL.
with ranked as (
    select
        account_id,
        date,
        video_views,
        profile_views,
        likes,
        comments,
        shares,
        followers_count,
        row_number() over (
            partition by account_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.tiktok__account_daily
),

latest as (
    select
        account_id,
        date,
        video_views,
        profile_views,
        likes,
        comments,
        shares,
        followers_count,
        -- TikTok gives the followers' total: the day's net change, NULL without the day
        -- before or with a total missing (a small account's)
        case
            when lag(date) over by_day = date - 1
                then followers_count - lag(followers_count) over by_day
        end as net_change
    from ranked
    where recency = 1
    window by_day as (partition by account_id order by date)
)

select
    'tiktok' as platform,
    account_id,
    date,
    cast(video_views as bigint) as views,
    cast(null as bigint) as reach,
    -- a day's net change is a gain or a loss (not greatest(): it would make a NULL 0)
    cast(case when net_change >= 0 then net_change when net_change < 0 then 0 end as bigint)
        as followers_gained,
    cast(case when net_change < 0 then -net_change when net_change >= 0 then 0 end as bigint)
        as followers_lost,
    cast(followers_count as bigint) as followers,
    cast(profile_views as bigint) as profile_views,
    cast(likes as bigint) as likes,
    cast(comments as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(null as bigint) as watch_time_s
from latest
