-- one row per YouTube video and reporting day, unified metric names; a restated day is
-- extracted again later, and the newest extraction wins (incremental: days >= $since)
with ranked as (
    select
        account_id,
        item_id,
        date,
        views,
        engagedviews,
        estimatedminuteswatched,
        averageviewduration,
        averageviewpercentage,
        likes,
        dislikes,
        comments,
        shares,
        subscribersgained,
        subscriberslost,
        extracted_at,
        -- running aggregates, oldest extraction first: cheap, and at the newest row they
        -- cover every extraction of the day
        row_number() over key_extractions as extractions,
        min(views) over key_extractions <> max(views) over key_extractions as is_restated,
        lead(extracted_at) over key_extractions is null as is_newest
    from raw.youtube__content_daily
    where date >= $since
    window key_extractions as (
        partition by account_id, item_id, date
        order by extracted_at asc, landing_file asc
        rows between unbounded preceding and current row
    )
)

select
    'youtube' as platform,
    account_id,
    item_id,
    date,
    views,
    engagedviews as engaged_views,
    estimatedminuteswatched * 60 as watch_time_s,
    averageviewduration as avg_view_duration_s,
    averageviewpercentage as avg_view_pct,
    likes,
    dislikes,
    comments,
    shares,
    subscribersgained as followers_gained,
    subscriberslost as followers_lost,
    extractions,
    is_restated,
    extracted_at
from ranked
where is_newest
