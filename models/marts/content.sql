-- one row per content family: the same story as items on several platforms and accounts
select
    family_id,
    -- the lead item is the first published; ties go to the first by platform, account, id,
    -- so that every build picks the same one
    arg_min(title, (published_at, platform, account_id, item_id))
    filter (where published_at is not null) as title,
    arg_min(platform, (published_at, platform, account_id, item_id))
    filter (where published_at is not null) as lead_platform,
    arg_min(item_id, (published_at, platform, account_id, item_id))
    filter (where published_at is not null) as lead_item_id,
    min(published_at) as first_published_at,
    max(published_at) as last_published_at,
    count(*) as items,
    count(distinct platform) as platforms,
    count(distinct platform || ':' || account_id) as accounts,
    list(distinct platform order by platform) as platform_list,
    list(distinct format order by format) as format_list,
    min(family_confidence) as confidence,
    case
        when bool_or(family_method = 'registry') then 'registry'
        when bool_or(family_method = 'title') then 'title'
        when bool_or(family_method = 'campaign') then 'campaign'
        when bool_or(family_method = 'link') then 'link'
        else 'single'
    end as linked_by
from marts.posts
group by family_id
