-- one row per item and reporting day: unified metrics, age, provisional and estimate flags
-- and running views; incremental: the days from $since are replaced, and so is every
-- estimated day (a refitted decay curve re-splits them all); the running total carries on
-- from the views before $since (lifetime-counter posts: from all their days, which are few):
-- the item's lifetime views from daily sources less those of the days rebuilt, so the
-- days before $since are never read again
with daily as (
    select
        platform,
        account_id,
        item_id,
        date,
        views,
        engaged_views,
        watch_time_s,
        avg_view_pct,
        likes,
        comments,
        shares,
        saves,
        reach,
        impressions,
        followers_gained,
        followers_lost,
        is_restated,
        is_interpolated,
        is_estimated,
        from_snapshots
    from intermediate.int_item_daily
    where date >= $since or from_snapshots
),

posts as materialized (
    -- item_key: the running total's partition, one number instead of three strings, which
    -- sorts 7 M rows in about two thirds of the time; the window carries it alone, and what
    -- is per item (the strings, publish date, coverage, totals) joins back after it
    select
        posts.platform,
        posts.account_id,
        posts.item_id,
        posts.published_date,
        coverage.last_date,
        coalesce(totals.views_reported_daily, 0) as views_reported_daily,
        row_number() over (
            order by posts.platform, posts.account_id, posts.item_id
        ) as item_key
    from marts.posts as posts
    left join intermediate.int_coverage as coverage
        on posts.platform = coverage.platform and posts.account_id = coverage.account_id
    left join intermediate.int_item_totals as totals
        on
            posts.platform = totals.platform
            and posts.account_id = totals.account_id
            and posts.item_id = totals.item_id
),

running as (
    select
        posts.item_key,
        daily.date,
        daily.views,
        daily.engaged_views,
        daily.watch_time_s,
        daily.avg_view_pct,
        daily.likes,
        daily.comments,
        daily.shares,
        daily.saves,
        daily.reach,
        daily.impressions,
        daily.followers_gained,
        daily.followers_lost,
        daily.is_restated,
        daily.is_interpolated,
        daily.is_estimated,
        -- the views of the item's days rebuilt here that its lifetime total counts
        coalesce(
            sum(daily.views) filter (where not daily.from_snapshots)
                over (partition by posts.item_key),
            0
        ) as views_rebuilt_daily,
        sum(daily.views)
            over (
                partition by posts.item_key
                order by daily.date
                rows between unbounded preceding and current row
            ) as views_so_far
    from daily
    inner join posts
        on
            daily.platform = posts.platform
            and daily.account_id = posts.account_id
            and daily.item_id = posts.item_id
    qualify daily.date >= $since or daily.is_estimated
)

select
    posts.platform,
    posts.account_id,
    posts.item_id,
    running.date,
    date_diff('day', posts.published_date, running.date) as age_days,
    running.views,
    running.engaged_views,
    running.watch_time_s,
    running.avg_view_pct,
    running.likes,
    running.comments,
    running.shares,
    running.saves,
    running.reach,
    running.impressions,
    running.followers_gained,
    running.followers_lost,
    coalesce(date_diff('day', running.date, posts.last_date) < 2, true) as is_provisional,
    running.is_restated,
    running.is_interpolated,
    running.is_estimated,
    cast(
        posts.views_reported_daily - running.views_rebuilt_daily + running.views_so_far
        as bigint
    ) as cumulative_views
from running
inner join posts on running.item_key = posts.item_key
