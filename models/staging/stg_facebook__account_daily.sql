-- the Page's day insights (period=day): media views, unique viewers and new follows,
-- latest extraction per day
with ranked as (
    select
        account_id,
        date,
        page_media_view,
        page_total_media_view_unique,
        page_daily_follows_unique,
        row_number() over (
            partition by account_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.facebook__account_daily
)

select
    'facebook' as platform,
    account_id,
    date,
    cast(page_media_view as bigint) as views,
    cast(page_total_media_view_unique as bigint) as reach,
    cast(page_daily_follows_unique as bigint) as followers_gained,
    cast(null as bigint) as followers_lost,
    cast(null as bigint) as watch_time_s
from ranked
where recency = 1
