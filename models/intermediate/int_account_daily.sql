-- account x reporting day: the account's views, watch time and followers as the platform
-- reports them for the whole account (YouTube, GA4, Facebook, Instagram, TikTok business
-- accounts), else summed over its posts' days and the days projected since their last
-- reads, with the estimated part declared (views_estimated). `reported` is the union of
-- the sources' account days (channel, property), generated from union_of in the YAML
with item_rows as (
    -- every post-day of the lifetime-counter platforms and of daily CSV exports
    select
        platform,
        account_id,
        date,
        views,
        watch_time_s,
        is_estimated,
        is_estimated_within_week
    from intermediate.int_snapshot_daily
    union all
    select
        platform,
        account_id,
        date,
        views,
        watch_time_s,
        false as is_estimated,
        false as is_estimated_within_week
    from staging.stg_csv_export__item_daily
),

item_days as (
    select
        platform,
        account_id,
        date,
        sum(views) as views,
        coalesce(sum(views) filter (where is_estimated), 0) as views_estimated,
        coalesce(sum(views) filter (where is_estimated_within_week), 0)
            as views_estimated_within_week,
        sum(watch_time_s) as watch_time_s,
        coalesce(sum(watch_time_s) filter (where is_estimated), 0) as watch_time_s_estimated
    from item_rows
    group by platform, account_id, date
),

projected as (
    select
        platform,
        account_id,
        date,
        sum(views) as views,
        sum(watch_time_s) as watch_time_s
    from intermediate.int_snapshot_projections
    group by platform, account_id, date
),

post_days as (
    -- measured and estimated post-days, plus the projections: all of those are estimates
    select
        coalesce(items.platform, projected.platform) as platform,
        coalesce(items.account_id, projected.account_id) as account_id,
        coalesce(items.date, projected.date) as date,
        case
            when items.views is not null or projected.views is not null
                then coalesce(items.views, 0) + coalesce(projected.views, 0)
        end as views,
        coalesce(items.views_estimated, 0) + coalesce(projected.views, 0) as views_estimated,
        coalesce(items.views_estimated_within_week, 0) as views_estimated_within_week,
        case
            when items.watch_time_s is not null or projected.watch_time_s is not null
                then coalesce(items.watch_time_s, 0) + coalesce(projected.watch_time_s, 0)
        end as watch_time_s,
        coalesce(items.watch_time_s_estimated, 0) + coalesce(projected.watch_time_s, 0)
            as watch_time_s_estimated
    from item_days as items
    full outer join projected
        on
            items.platform = projected.platform
            and items.account_id = projected.account_id
            and items.date = projected.date
)

-- the platform's own daily total where it reports one, else the posts' (watch time too:
-- the social platforms report none per account)
select
    coalesce(reported.platform, posts.platform) as platform,
    coalesce(reported.account_id, posts.account_id) as account_id,
    coalesce(reported.date, posts.date) as date,
    coalesce(reported.views, posts.views) as views,
    coalesce(reported.watch_time_s, posts.watch_time_s) as watch_time_s,
    reported.followers_gained,
    reported.followers_lost,
    case
        when reported.views is not null then 0
        when posts.views is not null then posts.views_estimated
    end as views_estimated,
    case
        when reported.views is not null then 0
        when posts.views is not null then posts.views_estimated_within_week
    end as views_estimated_within_week,
    case
        when reported.watch_time_s is not null then 0
        when posts.watch_time_s is not null then posts.watch_time_s_estimated
    end as watch_time_s_estimated,
    case
        when reported.views is not null then 'platform'
        when posts.views is not null then 'posts'
    end as views_source
from reported
full outer join post_days as posts
    on
        reported.platform = posts.platform
        and reported.account_id = posts.account_id
        and reported.date = posts.date
