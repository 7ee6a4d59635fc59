-- one row per GA4 property and reporting day: GA4's own totals (users deduplicated across
-- pages by GA4, unlike any sum of pages); the newest extraction wins (incremental)
with ranked as (
    select
        account_id,
        date,
        screenpageviews,
        activeusers,
        sessions,
        engagedsessions,
        userengagementduration,
        keyevents,
        eventcount,
        row_number() over key_extractions as recency,
        count(*) over key_extractions as extractions,
        min(screenpageviews) over key_extractions
        <> max(screenpageviews) over key_extractions as is_restated
    from raw.ga4__account_daily
    where date >= $since
    window key_extractions as (
        partition by account_id, date
        order by extracted_at desc, landing_file desc
        rows between unbounded preceding and unbounded following
    )
)

select
    'ga4' as platform,
    account_id,
    date,
    screenpageviews as views,
    activeusers as active_users,
    sessions,
    engagedsessions as engaged_sessions,
    userengagementduration as engagement_time_s,
    keyevents as key_events,
    eventcount as event_count,
    extractions,
    is_restated,
    cast(null as bigint) as watch_time_s,
    cast(null as bigint) as followers_gained,
    cast(null as bigint) as followers_lost
from ranked
where recency = 1
