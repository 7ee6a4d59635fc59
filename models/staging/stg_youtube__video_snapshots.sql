-- each video's lifetime counters (videos.list statistics) per day they were read: the
-- daily snapshot history, from which deltas can be derived where Analytics has no data
with reads as (
    select
        items.account_id,
        items.item_id,
        cast(timezone(coalesce(accounts.timezone, 'UTC'), items.extracted_at) as date)
            as snapshot_date,
        items.view_count,
        items.like_count,
        items.comment_count,
        items.extracted_at,
        items.landing_file
    from raw.youtube__content_items as items
    left join meta.accounts as accounts
        on accounts.platform = 'youtube' and items.account_id = accounts.account_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, item_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from reads
)

select
    'youtube' as platform,
    account_id,
    item_id,
    snapshot_date,
    view_count as lifetime_views,
    like_count as lifetime_likes,
    comment_count as lifetime_comments,
    extracted_at
from ranked
where recency = 1
