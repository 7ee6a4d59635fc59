-- daily figures of the platforms that show lifetime counters only, from the intervals
-- between consecutive snapshots: a one-day interval is that day's exact increment; a
-- longer one (a missed night, an older post read on the thinning re-poll schedule, a
-- backfilled post's history before its first read) is split over its days by the
-- account's decay curve (int_decay_curves), so that its days sum exactly to what was
-- measured, and flagged is_estimated. A counter NULL at either end leaves its days NULL
-- (not 0: greatest() would skip the NULL); a correction (a counter that went down) gives
-- days of 0, never negative ones.
with days as (
    select
        intervals.*,
        unnest(range(1, intervals.gap_days + 1)) as step
    from intermediate.int_snapshot_intervals as intervals
),

weighted as (
    select
        days.platform,
        days.account_id,
        days.item_id,
        days.snapshot_date,
        days.gap_days,
        days.step,
        cast(days.previous_date + cast(days.step as integer) as date) as date,
        case when days.views < 0 then 0 else days.views end as views,
        case when days.reach < 0 then 0 else days.reach end as reach,
        case when days.likes < 0 then 0 else days.likes end as likes,
        case when days.comments < 0 then 0 else days.comments end as comments,
        case when days.shares < 0 then 0 else days.shares end as shares,
        case when days.saves < 0 then 0 else days.saves end as saves,
        case when days.watch_time_s < 0 then 0 else days.watch_time_s end as watch_time_s,
        days.is_correction,
        days.is_within_week,
        -- a day the curve does not cover (no publish date yet) weighs as much as any other
        coalesce(exp(curves.log_rate), 1.0) as weight
    from days
    left join intermediate.int_decay_curves as curves
        on
            days.platform = curves.platform
            and days.account_id = curves.account_id
            and curves.age_days
            = date_diff('day', days.publish_date, days.previous_date) + days.step
),

shares as (
    -- the share of the interval's increment that falls on its days up to this one
    select
        *,
        case
            when step = gap_days then 1.0
            else sum(weight) over running / sum(weight) over interval_days
        end as share_through,
        coalesce(
            sum(weight) over before / sum(weight) over interval_days, 0.0
        ) as share_before
    from weighted
    window
        interval_days as (partition by platform, account_id, item_id, snapshot_date),
        running as (
            partition by platform, account_id, item_id, snapshot_date
            order by step
            rows between unbounded preceding and current row
        ),
        before as (
            partition by platform, account_id, item_id, snapshot_date
            order by step
            rows between unbounded preceding and 1 preceding
        )
)

-- day k of an interval gets floor(d * share_through) - floor(d * share_before): the days
-- are whole numbers and sum exactly to the increment d
select
    platform,
    account_id,
    item_id,
    date,
    cast(floor(views * share_through) - floor(views * share_before) as bigint) as views,
    cast(floor(reach * share_through) - floor(reach * share_before) as bigint) as reach,
    cast(floor(likes * share_through) - floor(likes * share_before) as bigint) as likes,
    cast(floor(comments * share_through) - floor(comments * share_before) as bigint) as comments,
    cast(floor(shares * share_through) - floor(shares * share_before) as bigint) as shares,
    cast(floor(saves * share_through) - floor(saves * share_before) as bigint) as saves,
    cast(
        floor(watch_time_s * share_through) - floor(watch_time_s * share_before) as bigint
    ) as watch_time_s,
    gap_days > 1 as is_estimated,
    gap_days > 1 as is_interpolated,
    step = gap_days as closes_gap,
    is_correction,
    gap_days > 1 and is_within_week as is_estimated_within_week
from shares
