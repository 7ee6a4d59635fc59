-- the report week's anomalies, strongest first, with titles and account names
with names as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
)

select
    anomalies.level,
    anomalies.platform,
    anomalies.account_id,
    coalesce(names.account_name, anomalies.account_id) as account_name,
    anomalies.item_id,
    posts.title,
    anomalies.date,
    anomalies.direction,
    anomalies.views,
    anomalies.expected_views,
    anomalies.robust_z,
    anomalies.age_days,
    anomalies.driver_source,
    anomalies.driver_views_change
from marts.anomalies as anomalies
left join names
    on anomalies.platform = names.platform and anomalies.account_id = names.account_id
left join marts.posts as posts
    on
        anomalies.platform = posts.platform
        and anomalies.account_id = posts.account_id
        and anomalies.item_id = posts.item_id
where anomalies.date between $week_start and $week_end
order by
    abs(anomalies.robust_z) desc,
    anomalies.date asc,
    anomalies.account_id asc,
    anomalies.item_id asc
limit 20
