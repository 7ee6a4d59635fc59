-- one row per Instagram post: the newest extraction's metadata wins
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
    from raw.instagram__content_items
)

select
    'instagram' as platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    case
        when product_type = 'REELS' then 'reel'
        when product_type = 'STORY' then 'story'
        when media_type = 'CAROUSEL_ALBUM' then 'carousel'
        else 'post'
    end as format,
    cast(duration_s as bigint) as duration_s,
    media_type,
    product_type,
    extracted_at
from ranked
where recency = 1
