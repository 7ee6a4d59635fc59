-- per platform, account and reporting day: what the platform says about its own numbers,
-- from the requests behind each day's winning extraction (GA4: sampled, subject to
-- thresholding) and from the rows (the share of views in GA4's "(other)" row and in its
-- "(not set)" rows); one union branch per source that reports such flags
with covered as (
    select
        account_id,
        report,
        extracted_at,
        is_sampled,
        subject_to_thresholding,
        cast(unnest(generate_series(window_start, window_end, interval 1 day)) as date) as date
    from staging.stg_ga4__requests
    where not superseded and report in ('pages', 'traffic')
),

newest as (
    select
        account_id,
        report,
        date,
        max(extracted_at) as extracted_at
    from covered
    group by account_id, report, date
),

request_flags as (
    select
        covered.account_id,
        covered.date,
        bool_or(covered.is_sampled) as is_sampled,
        bool_or(covered.subject_to_thresholding) as is_thresholded
    from covered
    inner join newest
        on
            covered.account_id = newest.account_id
            and covered.report = newest.report
            and covered.date = newest.date
            and covered.extracted_at = newest.extracted_at
    group by covered.account_id, covered.date
),

page_other as (
    select
        account_id,
        date,
        sum(views) filter (where is_other_row) / nullif(sum(views), 0) as other_share,
        coalesce(sum(views) filter (where is_not_set_row), 0)
        / nullif(sum(views), 0) as not_set_share
    from staging.stg_ga4__page_daily
    group by account_id, date
),

traffic_other as (
    select
        account_id,
        date,
        sum(views) filter (where item_id = '(other)') / nullif(sum(views), 0) as other_share
    from staging.stg_ga4__traffic_daily
    group by account_id, date
)

select
    'ga4' as platform,
    request_flags.account_id,
    request_flags.date,
    request_flags.is_sampled,
    request_flags.is_thresholded,
    greatest(
        coalesce(page_other.other_share, 0), coalesce(traffic_other.other_share, 0)
    ) as other_row_share,
    coalesce(page_other.not_set_share, 0) as not_set_row_share
from request_flags
left join page_other
    on request_flags.account_id = page_other.account_id and request_flags.date = page_other.date
left join traffic_other
    on
        request_flags.account_id = traffic_other.account_id
        and request_flags.date = traffic_other.date
