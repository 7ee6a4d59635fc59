-- one row per YouTube video and reporting day, unified metric names; a restated day is
-- extracted again later, and the newest extraction wins (incremental: days >= $since);
-- only the account-days with a video extracted more than once go through the window: a
-- backfill reads each day once, so most of a history skips its sort
with landing_files as (
    -- the landing files in path order: ties of extracted_at go to the later path, and
    -- sorting 7 M rows on a number instead of the path takes a third less time and memory
    select
        path,
        row_number() over (order by path) as path_order
    from meta.loaded_files
),

repeated_days as (
    -- the account-days where some video was extracted more than once (a restatement
    -- re-read them): only their rows go through the window below
    select
        account_id,
        date
    from raw.youtube__content_daily
    where date >= $since
    group by account_id, date
    having count(*) > count(distinct item_id)
),

ranked as (
    select
        daily.account_id,
        daily.item_id,
        daily.date,
        daily.views,
        daily.engagedviews,
        daily.estimatedminuteswatched,
        daily.averageviewduration,
        daily.averageviewpercentage,
        daily.likes,
        daily.dislikes,
        daily.comments,
        daily.shares,
        daily.subscribersgained,
        daily.subscriberslost,
        daily.extracted_at,
        -- running aggregates, oldest extraction first: cheap, and at the newest row they
        -- cover every extraction of the day
        row_number() over key_extractions as extractions,
        min(daily.views) over key_extractions <> max(daily.views) over key_extractions as is_restated,
        lead(daily.extracted_at) over key_extractions is null as is_newest
    from raw.youtube__content_daily as daily
    inner join repeated_days
        on daily.account_id = repeated_days.account_id and daily.date = repeated_days.date
    -- the window orders by its path_order, which sqlfluff does not see
    left join landing_files on daily.landing_file = landing_files.path -- noqa: ST11
    where daily.date >= $since
    window key_extractions as (
        partition by daily.account_id, daily.item_id, daily.date
        order by daily.extracted_at asc, landing_files.path_order asc
        rows between unbounded preceding and current row
    )
),

once as (
    -- a video-day extracted once: its only row, which cannot disagree with itself
    select
        daily.account_id,
        daily.item_id,
        daily.date,
        daily.views,
        daily.engagedviews,
        daily.estimatedminuteswatched,
        daily.averageviewduration,
        daily.averageviewpercentage,
        daily.likes,
        daily.dislikes,
        daily.comments,
        daily.shares,
        daily.subscribersgained,
        daily.subscriberslost,
        daily.extracted_at,
        1 as extractions,
        false as is_restated,
        true as is_newest
    from raw.youtube__content_daily as daily
    left join repeated_days
        on daily.account_id = repeated_days.account_id and daily.date = repeated_days.date
    where daily.date >= $since and repeated_days.date is null
),

newest as (
    select * from ranked
    where is_newest
    union all by name
    select * from once
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
from newest
