-- the days since each post's last read, up to its account's newest read, projected from
-- the post's own last interval along the account's decay curve: what the post most likely
-- added on days no snapshot has closed yet. Account totals only (int_account_daily), for
-- accounts whose platform reports no daily total; never a post's measured figure. A post
-- is projected up to age 364, the re-poll schedule's last read.
with curves as (
    select
        platform,
        account_id,
        age_days,
        exp(log_rate) as weight
    from intermediate.int_decay_curves
),

last_intervals as (
    select
        intervals.*,
        max(intervals.snapshot_date) over (
            partition by intervals.platform, intervals.account_id
        ) as account_last_read
    from intermediate.int_snapshot_intervals as intervals
    where intervals.publish_date is not null
    qualify
        row_number() over (
            partition by intervals.platform, intervals.account_id, intervals.item_id
            order by intervals.snapshot_date desc
        ) = 1
),

levels as (
    -- the post's daily rate per unit of curve weight over its last interval
    select
        last_intervals.platform,
        last_intervals.account_id,
        last_intervals.item_id,
        last_intervals.publish_date,
        last_intervals.snapshot_date,
        last_intervals.account_last_read,
        case when last_intervals.views < 0 then 0 else last_intervals.views end as views,
        case when last_intervals.watch_time_s < 0 then 0 else last_intervals.watch_time_s end as watch_time_s,
        sum(curves.weight) as weight
    from last_intervals
    inner join curves
        on
            last_intervals.platform = curves.platform
            and last_intervals.account_id = curves.account_id
            and curves.age_days
            between date_diff('day', last_intervals.publish_date, last_intervals.previous_date)
            + 1
            and date_diff('day', last_intervals.publish_date, last_intervals.snapshot_date)
    where last_intervals.snapshot_date < last_intervals.account_last_read
    group by all
)

select
    levels.platform,
    levels.account_id,
    levels.item_id,
    cast(levels.publish_date + cast(curves.age_days as integer) as date) as date,
    cast(round(levels.views / levels.weight * curves.weight) as bigint) as views,
    cast(round(levels.watch_time_s / levels.weight * curves.weight) as bigint) as watch_time_s
from levels
inner join curves
    on
        levels.platform = curves.platform
        and levels.account_id = curves.account_id
        and curves.age_days
        between date_diff('day', levels.publish_date, levels.snapshot_date) + 1
        and least(date_diff('day', levels.publish_date, levels.account_last_read), 364)
