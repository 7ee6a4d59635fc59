-- one row per YouTube video: the newest extraction's metadata wins
with ranked as (
    select
        account_id,
        item_id,
        title,
        description,
        tags,
        links,
        url,
        published_at,
        format,
        duration_s,
        view_count,
        like_count,
        comment_count,
        extracted_at,
        row_number() over (
            partition by account_id, item_id
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.youtube__content_items
)

select
    'youtube' as platform,
    account_id,
    item_id,
    title,
    description,
    tags,
    links,
    url,
    published_at,
    format,
    duration_s,
    view_count as lifetime_views_snapshot,
    like_count as lifetime_likes_snapshot,
    comment_count as lifetime_comments_snapshot,
    extracted_at
from ranked
where recency = 1
