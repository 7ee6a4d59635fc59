-- one row per item: how its first 90 days of views decay. Half-life = the smallest age
-- (0 = publish day) at which the running views reach half of the first-90-day views;
-- share_after_d30 = the share of those views that came after the first 30 days; both NULL
-- until the data reaches age 89; decay_class sets the share against platform x format peers
with aged as (
    select
        platform,
        account_id,
        item_id,
        format,
        published_date,
        views_d30,
        views_d90,
        -- a compact key: the running sums below sort on it instead of three strings
        row_number() over (order by platform, account_id, item_id) as item_key
    from intermediate.int_item_totals
    where views_d90 > 0
),

early_days as materialized (
    -- the first 90 days of each aged item (about 1.6 million rows at 20,000 posts x 730
    -- days, against 7 million in all); a row dated before the local publish day (a
    -- platform reporting in another zone) counts at age 0, as views_d90 counts it
    select
        aged.item_key,
        greatest(date_diff('day', aged.published_date, daily.date), 0) as age_days,
        daily.views
    from intermediate.int_item_daily as daily
    inner join aged
        on
            daily.platform = aged.platform
            and daily.account_id = aged.account_id
            and daily.item_id = aged.item_id
    where daily.date <= aged.published_date + 89
),

weeks as (
    -- half-life in two steps, so no running sum ever runs over the daily rows: first the
    -- week (ages 7w..7w+6) in which the running views reach half ...
    select
        item_key,
        age_days // 7 as week,
        sum(views) as views
    from early_days
    group by item_key, age_days // 7
),

weeks_running as (
    select
        item_key,
        week,
        views,
        sum(views) over (
            partition by item_key order by week
            rows between unbounded preceding and current row
        ) as running_views
    from weeks
),

crossing_weeks as (
    select
        weeks_running.item_key,
        aged.views_d90,
        min(weeks_running.week) filter (
            where 2 * weeks_running.running_views >= aged.views_d90
        ) as week,
        arg_min(weeks_running.running_views - weeks_running.views, weeks_running.week) filter (
            where 2 * weeks_running.running_views >= aged.views_d90
        ) as views_before_week
    from weeks_running
    inner join aged on weeks_running.item_key = aged.item_key
    group by weeks_running.item_key, aged.views_d90
),

crossing_days as (
    -- ... then the day within that week (at most 7 rows per item)
    select
        early_days.item_key,
        early_days.age_days,
        crossing_weeks.views_d90,
        crossing_weeks.views_before_week + sum(early_days.views) over (
            partition by early_days.item_key order by early_days.age_days
            rows between unbounded preceding and current row
        ) as running_views
    from early_days
    inner join crossing_weeks
        on
            early_days.item_key = crossing_weeks.item_key
            and early_days.age_days // 7 = crossing_weeks.week
),

half_lives as (
    select
        aged.platform,
        aged.account_id,
        aged.item_id,
        min(crossing_days.age_days) filter (
            where 2 * crossing_days.running_views >= crossing_days.views_d90
        ) as half_life_days
    from crossing_days
    inner join aged on crossing_days.item_key = aged.item_key
    group by aged.platform, aged.account_id, aged.item_id
),

shares as (
    select
        platform,
        account_id,
        item_id,
        format,
        (views_d90 - views_d30) / views_d90 as share_after_d30
    from aged
),

peer_bands as (
    select
        platform,
        format,
        count(*) as peer_items,
        quantile_cont(share_after_d30, 0.2) as peer_p20_share_after_d30,
        quantile_cont(share_after_d30, 0.8) as peer_p80_share_after_d30
    from shares
    group by platform, format
)

select
    totals.platform,
    totals.account_id,
    totals.item_id,
    totals.format,
    totals.views_d30,
    totals.views_d90,
    half_lives.half_life_days,
    shares.share_after_d30,
    peer_bands.peer_items as decay_peer_items,
    peer_bands.peer_p20_share_after_d30,
    peer_bands.peer_p80_share_after_d30,
    case
        when shares.share_after_d30 is null or peer_bands.peer_items < 5 then null
        when shares.share_after_d30 > peer_bands.peer_p80_share_after_d30 then 'evergreen'
        when shares.share_after_d30 < peer_bands.peer_p20_share_after_d30 then 'spiky'
        else 'typical'
    end as decay_class
from intermediate.int_item_totals as totals
left join half_lives
    on
        totals.platform = half_lives.platform
        and totals.account_id = half_lives.account_id
        and totals.item_id = half_lives.item_id
left join shares
    on
        totals.platform = shares.platform
        and totals.account_id = shares.account_id
        and totals.item_id = shares.item_id
left join peer_bands
    on totals.platform = peer_bands.platform and totals.format = peer_bands.format
