-- spikes and drops against expectation: an account's day against its own previous 28 days,
-- and an item's day (from age 14, past the launch decay) against the item's previous 7
-- days, on the log scale with a robust z; each with the traffic source that moved most.
-- Measured days only, on both sides: an estimated day is never an anomaly nor part of
-- the expectation. Incremental: the days from $since; item days are kept for the newest
-- 91 days. A negative day (a broken source's rows, which its checks then hold back)
-- counts as 0 on the log scale: the build never fails on it.
with horizon as (
    select max(last_date) - 90 as item_start
    from intermediate.int_coverage
),

account_expected as (
    -- an account against its previous 28 days (four of each weekday)
    select
        'account' as level,
        platform,
        account_id,
        '' as item_id,
        date,
        cast(null as integer) as age_days,
        views,
        count(*) over prior_days as trailing_days,
        -- the quartiles of the frame's list: half the time of the windowed quantile
        list_aggregate(
            list(ln(greatest(views, 0) + 1)) over prior_days, 'quantile_cont', [0.25, 0.5, 0.75]
        ) as trailing_quartiles
    from intermediate.int_account_daily
    where date >= $since - 28 and views_estimated = 0
    window prior_days as (
        partition by platform, account_id
        order by date
        range between interval 28 days preceding and interval 1 day preceding
    )
),

item_expected as (
    -- an item against its previous 7 days: short enough that its decay barely moves them
    select
        'item' as level,
        post_daily.platform,
        post_daily.account_id,
        post_daily.item_id,
        post_daily.date,
        post_daily.age_days,
        post_daily.views,
        count(*) over prior_days as trailing_days,
        list_aggregate(
            list(ln(greatest(post_daily.views, 0) + 1)) over prior_days,
            'quantile_cont',
            [0.25, 0.5, 0.75]
        ) as trailing_quartiles
    from marts.post_daily
    cross join horizon
    where
        post_daily.date >= greatest($since, horizon.item_start) - 7
        and not post_daily.is_estimated
    window prior_days as (
        partition by post_daily.platform, post_daily.account_id, post_daily.item_id
        order by post_daily.date
        range between interval 7 days preceding and interval 1 day preceding
    )
),

expected as (
    select
        account_expected.*,
        horizon.item_start
    from account_expected
    cross join horizon
    where account_expected.trailing_days >= 14
    union all
    select
        item_expected.*,
        horizon.item_start
    from item_expected
    cross join horizon
    where item_expected.trailing_days >= 5
),

scored as (
    select
        level,
        platform,
        account_id,
        item_id,
        date,
        age_days,
        views,
        trailing_days,
        exp(trailing_quartiles[2]) - 1 as expected_views,
        0.6745 * (ln(greatest(views, 0) + 1) - trailing_quartiles[2])
        / greatest((trailing_quartiles[3] - trailing_quartiles[1]) / 2, 0.1) as robust_z
    from expected
    where
        date >= $since
        and (level = 'account' or date >= item_start)
),

flagged as (
    select
        *,
        case when robust_z > 0 then 'spike' else 'drop' end as direction
    from scored
    where
        abs(robust_z) >= 3.5
        and (level = 'account' or (robust_z > 0 and age_days >= 14 and views >= 100))
),

traffic as (
    -- per anomaly and traffic source: the day's views against the source's daily average
    -- over the 28 days before (days without views count as 0)
    select
        flagged.level,
        flagged.platform,
        flagged.account_id,
        flagged.item_id,
        flagged.date,
        traffic.source,
        sum(traffic.views) filter (where traffic.date = flagged.date)
        - coalesce(sum(traffic.views) filter (where traffic.date < flagged.date), 0) / 28.0
            as change
    from flagged
    inner join intermediate.int_traffic_daily as traffic
        on
            flagged.platform = traffic.platform
            and flagged.account_id = traffic.account_id
            and flagged.item_id = traffic.item_id
            and traffic.date between flagged.date - 28 and flagged.date
    group by all
),

drivers as (
    select
        level,
        platform,
        account_id,
        item_id,
        date,
        -- ties go to the first source by name: every build names the same one
        arg_min(source, (-change, source)) filter (where change is not null) as top_rising_source,
        max(change) as top_rising_change,
        arg_min(source, (change, source)) filter (where change is not null) as top_falling_source,
        min(change) as top_falling_change
    from traffic
    group by all
)

select
    flagged.level,
    flagged.platform,
    flagged.account_id,
    flagged.item_id,
    flagged.date,
    flagged.direction,
    flagged.views,
    flagged.expected_views,
    flagged.robust_z,
    flagged.age_days,
    case
        when flagged.direction = 'spike' then drivers.top_rising_source
        else drivers.top_falling_source
    end as driver_source,
    case
        when flagged.direction = 'spike' then drivers.top_rising_change
        else drivers.top_falling_change
    end as driver_views_change
from flagged
left join drivers
    on
        flagged.level = drivers.level
        and flagged.platform = drivers.platform
        and flagged.account_id = drivers.account_id
        and flagged.item_id = drivers.item_id
        and flagged.date = drivers.date
