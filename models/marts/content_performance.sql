-- one row per content family: totals across platforms, the best item and platform, what
-- each platform and format added, and whether the story should be repurposed
with members as (
    select
        posts.family_id,
        posts.platform,
        posts.account_id,
        posts.account_name,
        posts.item_id,
        posts.format,
        posts.published_at,
        perf.views,
        perf.watch_time_s,
        perf.likes + perf.comments + perf.shares as engagements,
        perf.performance_index
    from marts.posts as posts
    inner join marts.post_performance as perf
        on
            posts.platform = perf.platform
            and posts.account_id = perf.account_id
            and posts.item_id = perf.item_id
),

by_platform as (
    select
        family_id,
        platform,
        cast(sum(views) as bigint) as views
    from members
    group by family_id, platform
),

platform_views as (
    select
        family_id,
        map(list(platform order by platform), list(views order by platform)) as views_by_platform
    from by_platform
    group by family_id
),

families as (
    select
        family_id,
        count(*) as items,
        cast(sum(views) as bigint) as views,
        cast(sum(watch_time_s) as bigint) as watch_time_s,
        cast(sum(engagements) as bigint) as engagements,
        -- ties (same time, same index) go to the first by platform, account and id, so that
        -- every build picks the same item, and all best_* columns describe that one item
        arg_min(views, (published_at, platform, account_id, item_id))
        filter (where published_at is not null) as lead_item_views,
        max(performance_index) as best_performance_index,
        arg_min(platform, (-performance_index, platform, account_id, item_id))
        filter (where performance_index is not null) as best_platform,
        arg_min(account_name, (-performance_index, platform, account_id, item_id))
        filter (where performance_index is not null) as best_account_name,
        arg_min(item_id, (-performance_index, platform, account_id, item_id))
        filter (where performance_index is not null) as best_item_id,
        arg_min(format, (-performance_index, platform, account_id, item_id))
        filter (where performance_index is not null) as best_format,
        list(distinct format order by format) as formats,
        list(distinct platform || ':' || account_id order by platform || ':' || account_id) as accounts
    from members
    group by family_id
),

portfolio as (
    -- the accounts the team publishes on, and the formats it publishes (with at least five
    -- items that have a performance index: archive pages and the like are not formats to
    -- repurpose into)
    select
        list(distinct platform || ':' || account_id order by platform || ':' || account_id)
            as accounts,
        list(distinct format order by format) filter (where format in (
            select member_formats.format
            from members as member_formats
            group by member_formats.format
            having count(member_formats.performance_index) >= 5
        )) as formats
    from members
),

gaps as (
    -- formats and accounts the team publishes on that a family is missing
    select
        families.family_id,
        list_filter(portfolio.formats, lambda f: not list_contains(families.formats, f)) as missing_formats, -- noqa: RF02
        list_filter(portfolio.accounts, lambda a: not list_contains(families.accounts, a)) as missing_accounts -- noqa: RF02
    from families
    cross join portfolio
)

select
    families.family_id,
    families.items,
    families.views,
    families.watch_time_s,
    families.engagements,
    platform_views.views_by_platform,
    families.views - families.lead_item_views as views_added_by_repurposing,
    families.best_performance_index,
    families.best_platform,
    families.best_account_name,
    families.best_item_id,
    families.best_format,
    gaps.missing_formats,
    gaps.missing_accounts,
    coalesce(families.best_performance_index >= 0.5, false)
    and (
        coalesce(len(gaps.missing_formats), 0) > 0
        or coalesce(len(gaps.missing_accounts), 0) > 0
    ) as is_repurposing_candidate
from families
inner join platform_views on families.family_id = platform_views.family_id
inner join gaps on families.family_id = gaps.family_id
