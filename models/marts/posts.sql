-- one row per platform item, with format, length bucket and local publish time
with videos as (
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
        links
    from staging.stg_youtube__videos
),

accounts as (
    select
        platform,
        account_id,
        name as account_name,
        timezone
    from meta.accounts
)

select
    videos.platform,
    videos.account_id,
    coalesce(accounts.account_name, videos.account_id) as account_name,
    videos.item_id,
    videos.title,
    videos.url,
    videos.format,
    videos.duration_s,
    case
        when videos.duration_s is null then 'unknown'
        when videos.duration_s < 60 then 'under_1m'
        when videos.duration_s < 300 then '1_to_5m'
        when videos.duration_s < 1200 then '5_to_20m'
        else 'over_20m'
    end as length_bucket,
    videos.published_at,
    coalesce(accounts.timezone, 'UTC') as account_timezone,
    timezone(coalesce(accounts.timezone, 'UTC'), videos.published_at) as published_local,
    cast(timezone(coalesce(accounts.timezone, 'UTC'), videos.published_at) as date)
        as published_date,
    videos.tags,
    videos.links
from videos
left join accounts
    on videos.platform = accounts.platform and videos.account_id = accounts.account_id
