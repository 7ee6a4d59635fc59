-- one row per GA4 page (item) and reporting day: the path variants GA4 reports separately
-- (query strings, trailing slashes, AMP, locale prefixes) summed into their item; a day
-- is taken whole from the newest extraction whose pages requests covered it, so restated
-- days win and rows GA4 no longer reports for a day (thresholds, "(other)") go with it;
-- GA4's "(other)" and "(not set)" rows stay, flagged
with covered as (
    -- each extraction's days (requests replaced by shorter windows do not count)
    select distinct
        account_id,
        extracted_at,
        cast(unnest(generate_series(window_start, window_end, interval 1 day)) as date) as date
    from raw.ga4__report_requests
    where report = 'pages' and not superseded and window_end >= $since
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
        extracted_at,
        -- the title and group of the variant with most views that day (ties by name)
        arg_max(pagetitle, (screenpageviews, pagetitle)) as page_title,
        arg_max(content_group, (screenpageviews, pagetitle)) as content_group,
        count(distinct hostname || pagepath) as page_paths,
        sum(screenpageviews) as views,
        sum(activeusers) as active_users,
        sum(sessions) as sessions,
        sum(engagedsessions) as engaged_sessions,
        sum(userengagementduration) as engagement_time_s,
        sum(keyevents) as key_events
    from raw.ga4__content_daily
    where date >= $since
    group by account_id, item_id, date, extracted_at
),

keyed as (
    select
        *,
        count(*) over key_extractions as extractions,
        min(views) over key_extractions <> max(views) over key_extractions as is_restated
    from per_extraction
    window key_extractions as (partition by account_id, item_id, date)
)

select
    'ga4' as platform,
    keyed.account_id,
    keyed.item_id,
    keyed.date,
    keyed.page_title,
    keyed.content_group,
    keyed.page_paths,
    cast(keyed.views as bigint) as views,
    cast(keyed.active_users as bigint) as active_users,
    cast(keyed.sessions as bigint) as sessions,
    cast(keyed.engaged_sessions as bigint) as engaged_sessions,
    keyed.engagement_time_s,
    keyed.key_events,
    keyed.item_id = '(other)' as is_other_row,
    keyed.item_id = '(not set)' as is_not_set_row,
    keyed.extractions,
    keyed.is_restated,
    keyed.extracted_at
from keyed
inner join newest
    on
        keyed.account_id = newest.account_id
        and keyed.date = newest.date
        and keyed.extracted_at = newest.extracted_at
