-- the strongest repurposing candidate whose best item's day-7 index was known by the end
-- of the report week, with the accounts it is missing from by name
with names as (
    select distinct
        platform || ':' || account_id as account_key,
        account_name
    from marts.posts
),

candidates as (
    select
        performance.family_id,
        performance.best_platform,
        performance.best_item_id,
        performance.best_account_name,
        performance.best_format,
        performance.best_performance_index,
        performance.missing_formats,
        performance.missing_accounts,
        best.title
    from marts.content_performance as performance
    inner join marts.posts as best
        on
            performance.best_platform = best.platform
            and performance.best_item_id = best.item_id
    where
        performance.is_repurposing_candidate
        and performance.best_performance_index is not null
        and best.published_date + 6 <= $week_end
    order by performance.best_performance_index desc, performance.family_id asc
    limit 1
),

missing as (
    select
        candidates.family_id,
        list(
            coalesce(names.account_name, gaps.account_key)
            order by coalesce(names.account_name, gaps.account_key)
        ) as missing_account_names
    from candidates
    cross join unnest(candidates.missing_accounts) as gaps (account_key)
    left join names on gaps.account_key = names.account_key
    group by candidates.family_id
)

select
    candidates.family_id,
    candidates.title,
    candidates.best_platform,
    candidates.best_item_id,
    candidates.best_account_name,
    candidates.best_format,
    candidates.best_performance_index,
    coalesce(candidates.missing_formats, []) as missing_formats,
    coalesce(missing.missing_account_names, []) as missing_account_names
from candidates
left join missing on candidates.family_id = missing.family_id
