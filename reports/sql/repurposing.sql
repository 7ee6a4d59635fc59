-- content families that did well somewhere and are missing a format or an account
with names as (
    select distinct
        platform || ':' || account_id as account_key,
        account_name
    from marts.posts
),

candidates as (
    select *
    from marts.content_performance
    where is_repurposing_candidate
),

missing as (
    -- the missing accounts by name
    select
        candidates.family_id,
        list(coalesce(names.account_name, gaps.account_key) order by gaps.account_key)
            as missing_account_names
    from candidates
    cross join unnest(candidates.missing_accounts) as gaps (account_key)
    left join names on gaps.account_key = names.account_key
    group by candidates.family_id
)

select
    candidates.family_id,
    best.title,
    best.url,
    candidates.best_platform,
    candidates.best_account_name,
    candidates.best_format,
    candidates.best_performance_index,
    candidates.views,
    candidates.items,
    coalesce(candidates.missing_formats, []) as missing_formats,
    coalesce(missing.missing_account_names, []) as missing_account_names
from candidates
inner join marts.posts as best
    on candidates.best_platform = best.platform and candidates.best_item_id = best.item_id
left join missing on candidates.family_id = missing.family_id
where best.published_date <= $week_end
order by candidates.best_performance_index desc, candidates.family_id asc
limit 10
