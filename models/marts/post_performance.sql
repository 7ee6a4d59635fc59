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
    end as performance_index_d30
from chosen
