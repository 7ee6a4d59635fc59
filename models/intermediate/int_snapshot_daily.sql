-- daily deltas of the platforms that show lifetime counters only: two consecutive
-- snapshots of a post give the increments of the days between them. A gap of one day is
-- that day's exact increment; a longer gap (a missed night, or an older post read on the
-- thinning re-poll schedule) is spread evenly over its days and flagged is_interpolated,
-- and a post's first snapshot covers the days from its local publish day on. A counter
-- NULL at either end leaves its deltas NULL. One union branch per lifetime-counter source.
with snapshots as (
    select
        platform,
        account_id,
        item_id,
        snapshot_date,
        views,
        reach,
        likes,
        comments,
        shares,
        saves,
        watch_time_s
    from staging.stg_instagram__snapshots
    union all
    select
        platform,
        account_id,
        item_id,
        snapshot_date,
        views,
        reach,
        likes,
        comments,
        shares,
        saves,
        watch_time_s
    from staging.stg_facebook__snapshots
    union all
    select
        platform,
        account_id,
        item_id,
        snapshot_date,
        views,
        reach,
        likes,
        comments,
        shares,
        saves,
        watch_time_s
    from staging.stg_tiktok__snapshots
    union all
    select
        platform,
        account_id,
        item_id,
        snapshot_date,
        views,
        reach,
        likes,
        comments,
        shares,
        saves,
        watch_time_s
    from staging.stg_csv_export__snapshots
),

published as (
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

intervals as (
    -- each snapshot and the one before it (before the first: zero, the day before publish)
    select
        snapshots.*,
        coalesce(
            lag(snapshots.snapshot_date) over item_order,
            least(published.publish_date, snapshots.snapshot_date) - 1
        ) as previous_date,
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
),

days as (
    select
        *,
        date_diff('day', previous_date, snapshot_date) as gap_days,
        unnest(range(1, date_diff('day', previous_date, snapshot_date) + 1)) as step
    from intervals
)

-- the increment over a gap of g days, split so that the days sum to it exactly:
-- day k of the gap gets floor(d * k / g) - floor(d * (k - 1) / g)
select
    platform,
    account_id,
    item_id,
    cast(previous_date + cast(step as integer) as date) as date,
    cast(
        floor((views - previous_views) * step / gap_days)
        - floor((views - previous_views) * (step - 1) / gap_days) as bigint
    ) as views,
    cast(
        floor((reach - previous_reach) * step / gap_days)
        - floor((reach - previous_reach) * (step - 1) / gap_days) as bigint
    ) as reach,
    cast(
        floor((likes - previous_likes) * step / gap_days)
        - floor((likes - previous_likes) * (step - 1) / gap_days) as bigint
    ) as likes,
    cast(
        floor((comments - previous_comments) * step / gap_days)
        - floor((comments - previous_comments) * (step - 1) / gap_days) as bigint
    ) as comments,
    cast(
        floor((shares - previous_shares) * step / gap_days)
        - floor((shares - previous_shares) * (step - 1) / gap_days) as bigint
    ) as shares,
    cast(
        floor((saves - previous_saves) * step / gap_days)
        - floor((saves - previous_saves) * (step - 1) / gap_days) as bigint
    ) as saves,
    cast(
        floor((watch_time_s - previous_watch_time_s) * step / gap_days)
        - floor((watch_time_s - previous_watch_time_s) * (step - 1) / gap_days) as bigint
    ) as watch_time_s,
    gap_days > 1 as is_interpolated,
    step = gap_days as closes_gap
from days
