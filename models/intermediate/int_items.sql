-- every platform item in the unified item shape; a new source adds one union branch here
-- (gone_reason: why an item is gone, where its platform can tell; NULL while it is there)
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    gone_reason,
    gone_since
from staging.stg_youtube__videos
union all
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    cast(null as varchar) as gone_reason,
    cast(null as timestamptz) as gone_since
from staging.stg_ga4__pages
union all
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    gone_reason,
    gone_since
from staging.stg_instagram__posts
union all
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    gone_reason,
    gone_since
from staging.stg_facebook__posts
union all
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    gone_reason,
    gone_since
from staging.stg_tiktok__posts
union all
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    cast(null as varchar) as gone_reason,
    cast(null as timestamptz) as gone_since
from staging.stg_csv_export__posts
