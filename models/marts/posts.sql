-- one row per platform item: format, length bucket, topic, local publish time and slot,
-- the content family it belongs to, and whether it is gone (deleted or private: kept, with
-- its history)
with items as (
    select
        platform,
        account_id,
        item_id,
        title,
        url,
        format,
        duration_s,
        published_at,
        tags,
        links,
        gone_reason,
        gone_since
    from intermediate.int_items
),

accounts as (
    select
        platform,
        account_id,
        name as account_name,
        timezone
    from meta.accounts
),

families as (
    select
        platform,
        account_id,
        item_id,
        family_id,
        family_method,
        family_confidence
    from intermediate.int_content_families
),

located as (
    select
        items.*,
        coalesce(accounts.account_name, items.account_id) as account_name,
        coalesce(accounts.timezone, 'UTC') as account_timezone,
        timezone(coalesce(accounts.timezone, 'UTC'), items.published_at) as published_local
    from items
    left join accounts
        on items.platform = accounts.platform and items.account_id = accounts.account_id
)

select
    located.platform,
    located.account_id,
    located.account_name,
    located.item_id,
    located.title,
    located.url,
    located.format,
    located.duration_s,
    case
        when located.duration_s is null then 'unknown'
        when located.duration_s < 60 then 'under_1m'
        when located.duration_s < 300 then '1_to_5m'
        when located.duration_s < 1200 then '5_to_20m'
        else 'over_20m'
    end as length_bucket,
    coalesce(nullif(lower(trim(located.tags[1])), ''), 'untagged') as topic,
    located.published_at,
    located.account_timezone,
    located.published_local,
    cast(located.published_local as date) as published_date,
    strftime(located.published_local, '%a') as publish_weekday,
    case
        when hour(located.published_local) < 6 then 'night'
        when hour(located.published_local) < 12 then 'morning'
        when hour(located.published_local) < 18 then 'afternoon'
        else 'evening'
    end as publish_daypart,
    located.tags,
    located.links,
    families.family_id,
    families.family_method,
    families.family_confidence,
    located.gone_reason is not null as is_gone,
    located.gone_reason,
    located.gone_since
from located
left join families
    on
        located.platform = families.platform
        and located.account_id = families.account_id
        and located.item_id = families.item_id
