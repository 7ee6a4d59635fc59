-- one row per TikTok video: the newest extraction's metadata wins
with ranked as (
    select
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
        media_type,
        product_type,
        extracted_at,
        row_number() over (
            partition by account_id, item_id
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.tiktok__content_items
)

select
    'tiktok' as platform,
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
    media_type,
    product_type,
    extracted_at
from ranked
where recency = 1
