-- one row per YouTube video: the newest extraction's metadata wins; a video the channel's
-- newest listing no longer holds (deleted) or shows private is gone, kept with its history
with listings as (
    -- every read of the channel's uploads: one account snapshot each, even of no video
    select
        account_id,
        extracted_at
    from raw.youtube__account_snapshots
    group by account_id, extracted_at
),

ranked as (
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
        privacy_status,
        extracted_at,
        row_number() over newest_first as recency,
        -- this read and every later one saw the video private
        bool_and(coalesce(privacy_status = 'private', false)) over (
            newest_first rows between unbounded preceding and current row
        ) as private_from_here
    from raw.youtube__content_items
    window newest_first as (
        partition by account_id, item_id
        order by extracted_at desc, landing_file desc
    )
),

unlisted as (
    -- the first read of the channel's uploads after the video's last one
    select
        ranked.account_id,
        ranked.item_id,
        min(listings.extracted_at) as unlisted_since
    from ranked
    inner join listings
        on
            ranked.account_id = listings.account_id
            and ranked.extracted_at < listings.extracted_at
    where ranked.recency = 1
    group by ranked.account_id, ranked.item_id
),

private_spells as (
    select
        account_id,
        item_id,
        min(extracted_at) as private_since
    from ranked
    where private_from_here
    group by account_id, item_id
)

select
    'youtube' as platform,
    ranked.account_id,
    ranked.item_id,
    ranked.title,
    ranked.description,
    ranked.tags,
    ranked.links,
    ranked.url,
    ranked.published_at,
    ranked.format,
    ranked.duration_s,
    ranked.view_count as lifetime_views_snapshot,
    ranked.like_count as lifetime_likes_snapshot,
    ranked.comment_count as lifetime_comments_snapshot,
    ranked.privacy_status,
    case
        when unlisted.unlisted_since is not null then 'deleted'
        when private_spells.private_since is not null then 'private'
    end as gone_reason,
    coalesce(unlisted.unlisted_since, private_spells.private_since) as gone_since,
    ranked.extracted_at
from ranked
left join unlisted
    on ranked.account_id = unlisted.account_id and ranked.item_id = unlisted.item_id
left join private_spells
    on
        ranked.account_id = private_spells.account_id
        and ranked.item_id = private_spells.item_id
where ranked.recency = 1
