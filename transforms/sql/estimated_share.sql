-- per account where estimates apply (lifetime-counter accounts: a decay curve stands
-- behind their estimated days): the estimated share of its last 7 published days' views
with recent as (
    select
        platform,
        account_id,
        date,
        views_estimated,
        account_views,
        estimate_curve_source,
        max(date) over (partition by platform, account_id) as newest
    from marts.data_quality
)

select
    platform,
    account_id,
    sum(views_estimated) / nullif(sum(account_views), 0) as estimated_share
from recent
where date > newest - interval 7 days and estimate_curve_source is not null
group by platform, account_id
order by platform, account_id
