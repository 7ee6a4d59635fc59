-- one row per YouTube video and reporting day, unified metric names;
-- a restated day is extracted again later, and the newest extraction wins
with ranked as (
    select
        account_id,
        item_id,
        date,
        views,
        "engagedViews",
        "estimatedMinutesWatched",
        "averageViewDuration",
        "averageViewPercentage",
        likes,
        dislikes,
        comments,
        shares,
        "subscribersGained",
        "subscribersLost",
        extracted_at,
        row_number() over (
            partition by account_id, item_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.youtube__content_daily
)

select
    'youtube' as platform,
    account_id,
    item_id,
    date,
    views,
    "engagedViews" as engaged_views,
    "estimatedMinutesWatched" * 60 as watch_time_s,
    "averageViewDuration" as avg_view_duration_s,
    "averageViewPercentage" as avg_view_pct,
    likes,
    dislikes,
    comments,
    shares,
    "subscribersGained" as followers_gained,
    "subscribersLost" as followers_lost,
    extracted_at
from ranked
where recency = 1
