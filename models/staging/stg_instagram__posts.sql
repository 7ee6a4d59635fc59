-- one row per Instagram post: the newest extraction's metadata wins; a post the account's
-- newest listing no longer holds, or whose insights the Graph API refused as a deleted object
-- (error 100, subcode 33), is gone, kept with its history (a story is listed only the day after it went up: no story is ever gone)
with listings as (
    -- every read of the account's posts: one account snapshot each, even of no post
    select
        account_id,
        extracted_at
    from raw.instagram__account_snapshots
    group by account_id, extracted_at
),

ranked as (
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
),

unlisted as (
    -- the first read of the account's posts after the post's last one
    select
        ranked.account_id,
        ranked.item_id,
        min(listings.extracted_at) as gone_since
    from ranked
    inner join listings
        on
            ranked.account_id = listings.account_id
            and ranked.extracted_at < listings.extracted_at
    where ranked.recency = 1 and ranked.product_type <> 'STORY'
    group by ranked.account_id, ranked.item_id
),

last_reads as (
    select
        account_id,
        item_id,
        max(extracted_at) as last_read
    from raw.instagram__content_snapshots
    group by account_id, item_id
),

refused as (
    -- insights refused because the object no longer exists, after the post's last snapshot
    select
        issues.account_id,
        issues.item_id,
        min(issues.extracted_at) as gone_since
    from raw.instagram__insight_issues as issues
    left join last_reads
        on issues.account_id = last_reads.account_id and issues.item_id = last_reads.item_id
    where
        issues.code = 'gone'
        and (last_reads.last_read is null or issues.extracted_at > last_reads.last_read)
    group by issues.account_id, issues.item_id
)

select
    'instagram' as platform,
    ranked.account_id,
    ranked.item_id,
    ranked.title,
    ranked.description,
    ranked.url,
    ranked.links,
    ranked.tags,
    ranked.published_at,
    case
        when ranked.product_type = 'REELS' then 'reel'
        when ranked.product_type = 'STORY' then 'story'
        when ranked.media_type = 'CAROUSEL_ALBUM' then 'carousel'
        else 'post'
    end as format,
    cast(ranked.duration_s as bigint) as duration_s,
    ranked.media_type,
    ranked.product_type,
    case
        when least(unlisted.gone_since, refused.gone_since) is not null then 'deleted'
    end as gone_reason,
    least(unlisted.gone_since, refused.gone_since) as gone_since,
    ranked.extracted_at
from ranked
left join unlisted
    on ranked.account_id = unlisted.account_id and ranked.item_id = unlisted.item_id
left join refused
    on ranked.account_id = refused.account_id and ranked.item_id = refused.item_id
where ranked.recency = 1
