-- daily views per account over the eight weeks ending with the report week
with names as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
)

select
    days.platform,
    days.account_id,
    coalesce(names.account_name, days.account_id) as account_name,
    days.date,
    days.views
from staging.stg_youtube__channel_daily as days
left join names
    on days.platform = names.platform and days.account_id = names.account_id
where days.date between $week_end - interval 55 days and $week_end
order by account_name asc, days.date asc
