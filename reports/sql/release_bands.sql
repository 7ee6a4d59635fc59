-- the peers' P20, median and P80 of cumulative views at each age 0-27, per account and
-- format: items published in the 180 days before the report's four-week release window
-- that had reached age 27 by then
with peers as (
    select
        platform,
        account_id,
        item_id,
        format
    from marts.posts
    where
        published_date >= $week_end - interval 207 days
        and published_date < $week_end - interval 54 days
),

ages as (
    select range as age
    from range(0, 28)
),

curves as (
    select
        peers.platform,
        peers.account_id,
        peers.format,
        peers.item_id,
        ages.age,
        max(daily.cumulative_views) as cumulative_views
    from peers
    cross join ages
    inner join marts.post_daily as daily
        on
            peers.platform = daily.platform
            and peers.account_id = daily.account_id
            and peers.item_id = daily.item_id
            and daily.age_days between 0 and ages.age
    group by peers.platform, peers.account_id, peers.format, peers.item_id, ages.age
)

select
    platform,
    account_id,
    format,
    age,
    count(*) as peers,
    quantile_cont(cumulative_views, 0.2) as p20,
    median(cumulative_views) as p50,
    quantile_cont(cumulative_views, 0.8) as p80
from curves
group by platform, account_id, format, age
having count(*) >= 5
order by platform asc, account_id asc, format asc, age asc
