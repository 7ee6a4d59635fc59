-- one row per TikTok video: the newest extraction's metadata wins; a video that video/query
-- no longer returns (deleted or made private) since its last snapshot is gone, kept with
-- its history (TikTok lists new videos only, so a missing one shows in the reads)
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
),

last_reads as (
    select
        account_id,
        item_id,
        max(extracted_at) as last_read
    from raw.tiktok__content_snapshots
    group by account_id, item_id
),

not_found as (
    select
        issues.account_id,
        issues.item_id,
        min(issues.extracted_at) as gone_since
    from raw.tiktok__insight_issues as issues
    left join last_reads
        on issues.account_id = last_reads.account_id and issues.item_id = last_reads.item_id
    where
        issues.code = 'not_found'
        and (last_reads.last_read is null or issues.extracted_at > last_reads.last_read)
    group by issues.account_id, issues.item_id
)

select
    'tiktok' as platform,
    ranked.account_id,
    ranked.item_id,
    ranked.title,
    ranked.description,
    ranked.url,
    ranked.links,
    ranked.tags,
    ranked.published_at,
    ranked.format,
    ranked.duration_s,
    ranked.media_type,
    ranked.product_type,
    case when not_found.gone_since is not null then 'not_found' end as gone_reason,
    not_found.gone_since,
    ranked.extracted_at
from ranked
left join not_found
    on ranked.account_id = not_found.account_id and ranked.item_id = not_found.item_id
where ranked.recency = 1
