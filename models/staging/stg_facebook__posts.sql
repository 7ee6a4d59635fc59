-- one row per Facebook post: the newest extraction's metadata wins
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
        duration_s,
        media_type,
        product_type,
        extracted_at,
        row_number() over (
            partition by account_id, item_id
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.facebook__content_items
)

select
    'facebook' as platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    case when media_type = 'video' then 'video' else 'post' end as format,
    cast(duration_s as bigint) as duration_s,
    media_type,
    product_type,
    extracted_at
from ranked
where recency = 1
