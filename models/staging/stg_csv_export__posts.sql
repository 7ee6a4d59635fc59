-- one row per item of a platform reached through exports (LinkedIn, X, ...): the newest
-- landed file that lists it gives its metadata
with ranked as (
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
        export,
        source_file,
        extracted_at,
        row_number() over (
            partition by platform, account_id, item_id
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.csv_export__content_items
)

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
    cast(null as varchar) as media_type,
    cast(null as varchar) as product_type,
    cast(null as varchar) as gone_reason,
    cast(null as timestamptz) as gone_since,
    extracted_at,
    export,
    source_file
from ranked
where recency = 1
