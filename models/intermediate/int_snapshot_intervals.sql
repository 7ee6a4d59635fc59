-- consecutive lifetime snapshots of each post as intervals: the reporting days
-- (previous_date, snapshot_date] and each counter's increment over them. A post's first
-- snapshot covers the days from its local publish day. An increment below zero is the
-- platform's own correction (it removed spam views or likes): kept here as read, flagged
-- is_correction, and never spread as negative days (int_snapshot_daily). `snapshots` is
-- the union of the lifetime-counter sources' staging, generated from union_of in the YAML.
with published as (
    select
        items.platform,
        items.account_id,
        items.item_id,
        cast(
            timezone(coalesce(accounts.timezone, 'UTC'), items.published_at) as date
        ) as publish_date
    from intermediate.int_items as items
    left join meta.accounts as accounts
        on items.platform = accounts.platform and items.account_id = accounts.account_id
),

ordered as (
    -- each snapshot and the one before it (before the first: zero, the day before publish)
    select
        snapshots.*,
        published.publish_date,
        coalesce(
            lag(snapshots.snapshot_date) over item_order,
            least(published.publish_date, snapshots.snapshot_date) - 1
        ) as previous_date,
        lag(snapshots.snapshot_date) over item_order is null as is_first_read,
        lag(snapshots.views, 1, 0) over item_order as previous_views,
        lag(snapshots.reach, 1, 0) over item_order as previous_reach,
        lag(snapshots.likes, 1, 0) over item_order as previous_likes,
        lag(snapshots.comments, 1, 0) over item_order as previous_comments,
        lag(snapshots.shares, 1, 0) over item_order as previous_shares,
        lag(snapshots.saves, 1, 0) over item_order as previous_saves,
        lag(snapshots.watch_time_s, 1, 0) over item_order as previous_watch_time_s
    from snapshots
    left join published
        on
            snapshots.platform = published.platform
            and snapshots.account_id = published.account_id
            and snapshots.item_id = published.item_id
    window item_order as (
        partition by snapshots.platform, snapshots.account_id, snapshots.item_id
        order by snapshots.snapshot_date
    )
)

select
    platform,
    account_id,
    item_id,
    publish_date,
    previous_date,
    snapshot_date,
    date_diff('day', previous_date, snapshot_date) as gap_days,
    is_first_read,
    views - previous_views as views,
    reach - previous_reach as reach,
    likes - previous_likes as likes,
    comments - previous_comments as comments,
    shares - previous_shares as shares,
    saves - previous_saves as saves,
    watch_time_s - previous_watch_time_s as watch_time_s,
    coalesce(
        views < previous_views
        or reach < previous_reach
        or likes < previous_likes
        or comments < previous_comments
        or shares < previous_shares
        or saves < previous_saves
        or watch_time_s < previous_watch_time_s,
        false
    ) as is_correction,
    -- the gap lies inside one ISO week: however its days are split, that week's total is exact
    date_trunc('week', previous_date + 1) = date_trunc('week', snapshot_date) as is_within_week
from ordered
