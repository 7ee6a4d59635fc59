-- followers (subscribers) at the end of each reporting day: the newest lifetime count
-- minus the net gains reported after that day. `account_snapshots` is the union of the
-- sources' account (channel) snapshots, generated from union_of in the YAML
with latest as (
    select
        platform,
        account_id,
        arg_max(followers, snapshot_date) as followers
    from account_snapshots
    group by platform, account_id
),

net as (
    select
        platform,
        account_id,
        date,
        coalesce(followers_gained, 0) - coalesce(followers_lost, 0) as net_followers
    from intermediate.int_account_daily
)

select
    net.platform,
    net.account_id,
    net.date,
    cast(
        latest.followers
        - coalesce(
            sum(net.net_followers) over (
                partition by net.platform, net.account_id
                order by net.date desc
                rows between unbounded preceding and 1 preceding
            ),
            0
        )
        as bigint
    ) as followers
from net
inner join latest
    on net.platform = latest.platform and net.account_id = latest.account_id
