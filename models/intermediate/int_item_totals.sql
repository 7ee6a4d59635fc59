-- one row per item: local publish date, how far the account's data reaches, lifetime
-- totals and views in the first 7, 30 and 90 days (NULL until the data reaches that age);
-- one grouped pass over the item x day rows, shared by the decay, rate and forecast models
with accounts as (
    select
        platform,
        account_id,
        timezone
    from meta.accounts
),

items as (
    -- the local publish date exactly as marts.posts computes it (age 0 = this day)
    select
        items.platform,
        items.account_id,
        items.item_id,
        items.format,
        items.published_at,
        cast(
            timezone(coalesce(accounts.timezone, 'UTC'), items.published_at) as date
        ) as published_date
    from intermediate.int_items as items
    left join accounts
        on items.platform = accounts.platform and items.account_id = accounts.account_id
),

daily as (
    select
        daily.platform,
        daily.account_id,
        daily.item_id,
        daily.date,
        date_diff('day', items.published_date, daily.date) as age_days,
        daily.views,
        daily.watch_time_s,
        daily.likes,
        daily.comments,
        daily.shares,
        daily.impressions,
        daily.followers_gained,
        daily.from_snapshots,
        daily.closes_exact
    from intermediate.int_item_daily as daily
    inner join items
        on
            daily.platform = items.platform
            and daily.account_id = items.account_id
            and daily.item_id = items.item_id
),

totals as (
    select
        platform,
        account_id,
        item_id,
        max(date) as last_item_date,
        cast(sum(views) as bigint) as views,
        cast(sum(views) filter (where not from_snapshots) as bigint) as views_reported_daily,
        cast(sum(watch_time_s) as bigint) as watch_time_s,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(followers_gained) as bigint) as followers_gained,
        cast(sum(likes) as bigint) as likes,
        cast(sum(comments) as bigint) as comments,
        cast(sum(shares) as bigint) as shares,
        cast(sum(views) filter (where age_days = 0) as bigint) as views_first_1d,
        cast(sum(views) filter (where age_days <= 6) as bigint) as views_first_7d,
        cast(sum(views) filter (where age_days <= 29) as bigint) as views_first_30d,
        cast(sum(views) filter (where age_days <= 89) as bigint) as views_first_90d,
        -- lifetime-counter sources: a window's views are known only when a snapshot closes
        -- its last day (inside a gap they are an interpolated share) and data reaches it
        bool_or(from_snapshots) as from_snapshots,
        count(views) = 0 as views_unreported,
        max(age_days) as last_age,
        bool_or(age_days = 0 and not closes_exact) as open_1d,
        bool_or(age_days = 6 and not closes_exact) as open_7d,
        bool_or(age_days = 29 and not closes_exact) as open_30d,
        bool_or(age_days = 89 and not closes_exact) as open_90d
    from daily
    group by platform, account_id, item_id
),

data_newest as (
    -- the newest day with any item row, for accounts whose extraction log is not loaded
    select
        platform,
        account_id,
        max(last_item_date) as last_date
    from totals
    group by platform, account_id
),

item_ages as (
    -- an item is "age d" only once its account's data reaches published_date + d
    select
        items.platform,
        items.account_id,
        items.item_id,
        items.format,
        items.published_at,
        items.published_date,
        greatest(coverage.last_date, data_newest.last_date) as last_date,
        date_diff(
            'day', items.published_date, greatest(coverage.last_date, data_newest.last_date)
        ) as age_days
    from items
    left join intermediate.int_coverage as coverage
        on items.platform = coverage.platform and items.account_id = coverage.account_id
    left join data_newest
        on items.platform = data_newest.platform and items.account_id = data_newest.account_id
)

select
    item_ages.platform,
    item_ages.account_id,
    item_ages.item_id,
    item_ages.format,
    item_ages.published_at,
    item_ages.published_date,
    item_ages.last_date,
    item_ages.age_days,
    -- no day rows yet: 0 so far; day rows without a reported view (Meta's empty insights
    -- for posts from before a business account, some carousels, expired stories): NULL
    case when totals.item_id is null then 0 else totals.views end as views,
    coalesce(totals.views_reported_daily, 0) as views_reported_daily,
    coalesce(totals.watch_time_s, 0) as watch_time_s,
    totals.impressions,
    coalesce(totals.followers_gained, 0) as followers_gained,
    coalesce(totals.likes, 0) as likes,
    coalesce(totals.comments, 0) as comments,
    coalesce(totals.shares, 0) as shares,
    -- a metric the platform lacks counts 0
    coalesce(totals.likes, 0) + coalesce(totals.comments, 0) + coalesce(totals.shares, 0)
        as engagements,
    case
        when
            item_ages.age_days >= 0 and not coalesce(totals.open_1d, false)
            and (not coalesce(totals.from_snapshots, false) or totals.last_age >= 0)
            and not coalesce(totals.views_unreported, false)
            then coalesce(totals.views_first_1d, 0)
    end as views_d1,
    case
        when
            item_ages.age_days >= 6 and not coalesce(totals.open_7d, false)
            and (not coalesce(totals.from_snapshots, false) or totals.last_age >= 6)
            and not coalesce(totals.views_unreported, false)
            then coalesce(totals.views_first_7d, 0)
    end as views_d7,
    case
        when
            item_ages.age_days >= 29 and not coalesce(totals.open_30d, false)
            and (not coalesce(totals.from_snapshots, false) or totals.last_age >= 29)
            and not coalesce(totals.views_unreported, false)
            then coalesce(totals.views_first_30d, 0)
    end as views_d30,
    case
        when
            item_ages.age_days >= 89 and not coalesce(totals.open_90d, false)
            and (not coalesce(totals.from_snapshots, false) or totals.last_age >= 89)
            and not coalesce(totals.views_unreported, false)
            then coalesce(totals.views_first_90d, 0)
    end as views_d90
from item_ages
left join totals
    on
        item_ages.platform = totals.platform
        and item_ages.account_id = totals.account_id
        and item_ages.item_id = totals.item_id
