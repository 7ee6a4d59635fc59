-- daily views per account over the eight weeks ending with the report week
select
    platform,
    account_id,
    account_name,
    date,
    views,
    views_estimated
from marts.account_daily
where date between $week_end - interval 55 days and $week_end
order by account_name asc, date asc
