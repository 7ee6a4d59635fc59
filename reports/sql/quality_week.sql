-- per account, what to know about the report week's numbers
with accounts as (
    select distinct
        platform,
        account_id,
        account_name
    from marts.posts
)

select
    quality.platform,
    coalesce(accounts.account_name, quality.account_id) as account_name,
    count(*) as days_reported,
    count(*) filter (where quality.is_provisional) as provisional_days,
    coalesce(sum(quality.items_restated), 0) as items_restated,
    coalesce(sum(quality.items_interpolated), 0) as items_interpolated,
    count(*) filter (where quality.is_sampled) as sampled_days,
    count(*) filter (where quality.is_thresholded) as thresholded_days,
    max(quality.other_row_share) as max_other_row_share,
    min(quality.item_views_share) as min_item_views_share,
    max(quality.last_complete_date) as last_complete_date
from marts.data_quality as quality
left join accounts
    on quality.platform = accounts.platform and quality.account_id = accounts.account_id
where quality.date between $week_start and $week_end
group by quality.platform, coalesce(accounts.account_name, quality.account_id)
order by quality.platform asc, account_name asc
