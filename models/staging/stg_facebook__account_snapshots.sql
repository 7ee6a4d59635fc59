-- the account's follower count per reporting day it was read; several reads of a day keep
-- the newest
with ranked as (
    select
        account_id,
        snapshot_date,
        followers_count,
        row_number() over (
            partition by account_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.facebook__account_snapshots
)

select
    'facebook' as platform,
    account_id,
    snapshot_date,
    cast(followers_count as bigint) as followers
from ranked
where recency = 1
