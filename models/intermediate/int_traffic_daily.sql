-- views (or sessions) by traffic source per day; item_id '' is the whole account
select
    platform,
    account_id,
    item_id,
    date,
    source,
    views
from staging.stg_youtube__traffic_daily
union all
-- GA4: page views by session source / medium, per page and for the whole property
select
    platform,
    account_id,
    item_id,
    date,
    session_source || ' / ' || session_medium as source,
    cast(sum(views) as bigint) as views
from staging.stg_ga4__traffic_daily
where item_id not like '(%'
group by platform, account_id, item_id, date, session_source, session_medium
union all
select
    platform,
    account_id,
    '' as item_id,
    date,
    session_source || ' / ' || session_medium as source,
    cast(sum(views) as bigint) as views
from staging.stg_ga4__traffic_daily
group by platform, account_id, date, session_source, session_medium
