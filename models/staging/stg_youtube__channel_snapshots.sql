-- the channel's lifetime counters as seen on each day they were read (account time zone);
-- several reads on one day keep the newest
with reads as (
    select
        snapshots.account_id,
        cast(timezone(coalesce(accounts.timezone, 'UTC'), snapshots.extracted_at) as date)
            as snapshot_date,
        snapshots.subscriber_count,
        snapshots.view_count,
        snapshots.video_count,
        snapshots.extracted_at,
        snapshots.landing_file
    from raw.youtube__account_snapshots as snapshots
    left join meta.accounts as accounts
        on accounts.platform = 'youtube' and snapshots.account_id = accounts.account_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, snapshot_date
            order by extracted_at desc, landing_file desc
        ) as recency
    from reads
)

select
    'youtube' as platform,
    account_id,
    snapshot_date,
    subscriber_count as followers,
    view_count as lifetime_views,
    video_count,
    extracted_at
from ranked
where recency = 1
