-- sessions and views by session source / medium / campaign per GA4 page and day, path
-- variants summed into their item; each day whole from its newest covering extraction
with covered as (
    select distinct
        account_id,
        extracted_at,
        cast(unnest(generate_series(window_start, window_end, interval 1 day)) as date) as date
    from raw.ga4__report_requests
    where report = 'traffic' and not superseded and window_end >= $since
),

newest as (
    select
        account_id,
        date,
        max(extracted_at) as extracted_at
    from covered
    where date >= $since
    group by account_id, date
),

per_extraction as (
    select
        account_id,
        item_id,
        date,
        coalesce(sessionsource, '(not set)') as session_source,
        coalesce(sessionmedium, '(not set)') as session_medium,
        coalesce(sessioncampaignname, '(not set)') as session_campaign,
        extracted_at,
        sum(sessions) as sessions,
        sum(engagedsessions) as engaged_sessions,
        sum(screenpageviews) as views,
        sum(keyevents) as key_events
    from raw.ga4__traffic_daily
    where date >= $since
    group by all
)

select
    'ga4' as platform,
    per_extraction.account_id,
    per_extraction.item_id,
    per_extraction.date,
    per_extraction.session_source,
    per_extraction.session_medium,
    per_extraction.session_campaign,
    cast(per_extraction.sessions as bigint) as sessions,
    cast(per_extraction.engaged_sessions as bigint) as engaged_sessions,
    cast(per_extraction.views as bigint) as views,
    per_extraction.key_events,
    per_extraction.extracted_at
from per_extraction
inner join newest
    on
        per_extraction.account_id = newest.account_id
        and per_extraction.date = newest.date
        and per_extraction.extracted_at = newest.extracted_at
