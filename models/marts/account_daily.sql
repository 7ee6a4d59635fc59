-- one row per account and reporting day: the platform's own totals (else the posts', with
-- the estimated part declared) and the followers then
select
    daily.platform,
    daily.account_id,
    coalesce(accounts.name, daily.account_id) as account_name,
    daily.date,
    daily.views,
    daily.views_estimated,
    daily.views_source,
    daily.watch_time_s,
    daily.watch_time_s_estimated,
    daily.followers_gained,
    daily.followers_lost,
    followers.followers
from intermediate.int_account_daily as daily
left join meta.accounts as accounts
    on daily.platform = accounts.platform and daily.account_id = accounts.account_id
left join intermediate.int_account_followers as followers
    on
        daily.platform = followers.platform
        and daily.account_id = followers.account_id
        and daily.date = followers.date
