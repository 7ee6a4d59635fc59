-- per account: the report week's views and the week before's, whether both weeks are
-- complete and measured (a week-over-week change on a partial or estimated week is not a
-- finding)
select
    this_week.platform,
    this_week.account_id,
    coalesce(this_week.account_name, this_week.account_id) as account_name,
    this_week.iso_week,
    this_week.is_complete,
    coalesce(prev_week.is_complete, false) as prev_is_complete,
    coalesce(this_week.views_estimated = 0, false)
    and coalesce(prev_week.views_estimated = 0, false) as is_measured,
    this_week.views,
    this_week.views_prev_week
from marts.account_weekly as this_week
left join marts.account_weekly as prev_week
    on
        this_week.platform = prev_week.platform
        and this_week.account_id = prev_week.account_id
        and prev_week.week_start = this_week.week_start - 7
where this_week.week_start = $week_start
order by this_week.platform asc, account_name asc
