-- one row per item: lifetime totals, views at age 7 and 30, engagement by views, and
-- the performance index against peers (same platform, account, format, published in
-- the 180 days before; at least 5 of them, else the platform x format portfolio group)
with account_coverage as (
    -- the last reporting date loaded per account: an item is "age d" only once
    -- the data reaches publish date + d
    select
        platform,
        account_id,
        max(date) as last_date
    from marts.post_daily
    group by platform, account_id
),

totals as (
    select
        platform,
        account_id,
        item_id,
        cast(sum(views) as bigint) as views,
        cast(sum(watch_time_s) as bigint) as watch_time_s,
        cast(sum(likes) as bigint) as likes,
        cast(sum(comments) as bigint) as comments,
        cast(sum(shares) as bigint) as shares,
        cast(sum(followers_gained) as bigint) as followers_gained,
        cast(sum(views) filter (where age_days <= 6) as bigint) as views_first_7d,
        cast(sum(views) filter (where age_days <= 29) as bigint) as views_first_30d
    from marts.post_daily
    group by platform, account_id, item_id
),

items as (
    select
        posts.platform,
        posts.account_id,
        posts.item_id,
        posts.title,
        posts.format,
        posts.length_bucket,
        posts.published_at,
        posts.published_date,
        date_diff('day', posts.published_date, account_coverage.last_date) as age_days,
        coalesce(totals.views, 0) as views,
        coalesce(totals.watch_time_s, 0) as watch_time_s,
        coalesce(totals.likes, 0) as likes,
        coalesce(totals.comments, 0) as comments,
        coalesce(totals.shares, 0) as shares,
        coalesce(totals.followers_gained, 0) as followers_gained,
        case
            when date_diff('day', posts.published_date, account_coverage.last_date) >= 6
                then coalesce(totals.views_first_7d, 0)
        end as views_d7,
        case
            when date_diff('day', posts.published_date, account_coverage.last_date) >= 29
                then coalesce(totals.views_first_30d, 0)
        end as views_d30
    from marts.posts as posts
    inner join account_coverage
        on posts.platform = account_coverage.platform and posts.account_id = account_coverage.account_id
    left join totals
        on
            posts.platform = totals.platform
            and posts.account_id = totals.account_id
            and posts.item_id = totals.item_id
),

peers as (
    select
        *,
        count(views_d7) over account_peers as account_peer_count,
        median(views_d7) over account_peers as account_peer_median_d7,
        quantile_cont(views_d7, 0.2) over account_peers as account_peer_p20_d7,
        quantile_cont(views_d7, 0.8) over account_peers as account_peer_p80_d7,
        count(views_d7) over portfolio_peers as portfolio_peer_count,
        median(views_d7) over portfolio_peers as portfolio_peer_median_d7,
        quantile_cont(views_d7, 0.2) over portfolio_peers as portfolio_peer_p20_d7,
        quantile_cont(views_d7, 0.8) over portfolio_peers as portfolio_peer_p80_d7,
        median(views_d30) over account_peers as account_peer_median_d30,
        count(views_d30) over account_peers as account_peer_count_d30
    from items
    window
        account_peers as (
            partition by platform, account_id, format
            order by published_at
            range between interval 180 days preceding and interval 1 microsecond preceding
        ),
        portfolio_peers as (
            partition by platform, format
            order by published_at
            range between interval 180 days preceding and interval 1 microsecond preceding
        )
),

peer_pairs as (
    -- each item with a day-7 figure against each of its account-format peers (published in
    -- the 180 days before it), on the log scale the index uses
    select
        item.platform,
        item.account_id,
        item.item_id,
        ln(peer.views_d7 + 1) as peer_log_d7,
        case
            when peer.views_d7 < item.views_d7 then 1.0
            when peer.views_d7 = item.views_d7 then 0.5
            else 0.0
        end as beaten
    from items as item
    inner join items as peer
        on
            item.platform = peer.platform
            and item.account_id = peer.account_id
            and item.format = peer.format
            and peer.published_at >= item.published_at - interval 180 days
            and item.published_at > peer.published_at
    where item.views_d7 is not null and peer.views_d7 is not null
),

peer_center as (
    select
        platform,
        account_id,
        item_id,
        count(*) as peers,
        avg(beaten) as peer_percentile,
        median(peer_log_d7) as peer_log_median
    from peer_pairs
    group by platform, account_id, item_id
),

peer_spread as (
    -- the median absolute deviation of the peers around their own median
    select
        peer_pairs.platform,
        peer_pairs.account_id,
        peer_pairs.item_id,
        median(abs(peer_pairs.peer_log_d7 - peer_center.peer_log_median)) as peer_log_mad
    from peer_pairs
    inner join peer_center
        on
            peer_pairs.platform = peer_center.platform
            and peer_pairs.account_id = peer_center.account_id
            and peer_pairs.item_id = peer_center.item_id
    group by peer_pairs.platform, peer_pairs.account_id, peer_pairs.item_id
),

robust as (
    select
        peer_center.platform,
        peer_center.account_id,
        peer_center.item_id,
        peer_center.peer_percentile,
        peer_center.peer_log_median,
        peer_spread.peer_log_mad
    from peer_center
    inner join peer_spread
        on
            peer_center.platform = peer_spread.platform
            and peer_center.account_id = peer_spread.account_id
            and peer_center.item_id = peer_spread.item_id
    where peer_center.peers >= 5
),

chosen as (
    select
        *,
        case
            when account_peer_count >= 5 then 'account_format'
            when portfolio_peer_count >= 5 then 'platform_format'
        end as peer_group,
        case
            when account_peer_count >= 5 then account_peer_count
            when portfolio_peer_count >= 5 then portfolio_peer_count
        end as peer_count,
        case
            when account_peer_count >= 5 then account_peer_median_d7
            when portfolio_peer_count >= 5 then portfolio_peer_median_d7
        end as peer_median_d7,
        case
            when account_peer_count >= 5 then account_peer_p20_d7
            when portfolio_peer_count >= 5 then portfolio_peer_p20_d7
        end as peer_p20_d7,
        case
            when account_peer_count >= 5 then account_peer_p80_d7
            when portfolio_peer_count >= 5 then portfolio_peer_p80_d7
        end as peer_p80_d7
    from peers
),

scored as (
    select
        chosen.*,
        robust.peer_percentile,
        robust.peer_log_median,
        robust.peer_log_mad
    from chosen
    left join robust
        on
            chosen.platform = robust.platform
            and chosen.account_id = robust.account_id
            and chosen.item_id = robust.item_id
)

select
    platform,
    account_id,
    item_id,
    title,
    format,
    length_bucket,
    published_at,
    published_date,
    age_days,
    views,
    watch_time_s,
    likes,
    comments,
    shares,
    followers_gained,
    views_d7,
    views_d30,
    (likes + comments + shares) / nullif(views, 0) as er_by_views,
    peer_group,
    peer_count,
    peer_median_d7,
    peer_p20_d7,
    peer_p80_d7,
    ln((views_d7 + 1) / (peer_median_d7 + 1)) as performance_index,
    case
        when views_d7 is null or peer_median_d7 is null then null
        when views_d7 < peer_p20_d7 then 'below'
        when views_d7 > peer_p80_d7 then 'above'
        else 'typical'
    end as performance_band,
    case
        when account_peer_count_d30 >= 5
            then ln((views_d30 + 1) / (account_peer_median_d30 + 1))
    end as performance_index_d30,
    peer_percentile,
    0.6745 * (ln(views_d7 + 1) - peer_log_median)
    / nullif(peer_log_mad, 0) as robust_z,
    coalesce(
        abs(
            0.6745 * (ln(views_d7 + 1) - peer_log_median)
            / nullif(peer_log_mad, 0)
        ) > 3.5,
        false
    ) as is_outlier
from scored
