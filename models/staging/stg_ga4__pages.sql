-- one row per GA4 page (content item): its newest title and content group, its URL, and
-- the first day it had views (in the property's time zone) standing in for its publish
-- time, which GA4 does not report; a page already live on the first day loaded has no
-- known publish day (format 'archive_page', so it is nobody's day-7 peer)
with history as (
    select
        account_id,
        min(date) as first_loaded_date
    from raw.ga4__content_daily
    group by account_id
),

pages as (
    select
        account_id,
        item_id,
        min(date) as first_date,
        max(date) as last_date,
        arg_max(pagetitle, (date, extracted_at, screenpageviews, pagetitle)) as title,
        arg_max(content_group, (date, extracted_at, screenpageviews, pagetitle)) as content_group
    from raw.ga4__content_daily
    where item_id not like '(%' and screenpageviews > 0
    group by account_id, item_id
)

select
    'ga4' as platform,
    pages.account_id,
    pages.item_id,
    coalesce(pages.title, '') as title,
    '' as description,
    case when pages.item_id like '/%' then pages.item_id else 'https://' || pages.item_id end
        as url,
    cast([] as varchar[]) as links,
    case
        when pages.content_group is null then cast([] as varchar[])
        else [pages.content_group]
    end as tags,
    timezone(coalesce(accounts.timezone, 'UTC'), cast(pages.first_date as timestamp))
        as published_at,
    case
        when pages.first_date > history.first_loaded_date then 'page' else 'archive_page'
    end as format,
    cast(null as bigint) as duration_s,
    cast(null as varchar) as gone_reason,
    cast(null as timestamptz) as gone_since,
    pages.content_group,
    pages.first_date,
    pages.last_date
from pages
inner join history on pages.account_id = history.account_id
left join meta.accounts as accounts
    on accounts.platform = 'ga4' and pages.account_id = accounts.account_id
