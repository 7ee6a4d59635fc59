-- TikTok's Display and Business video APIs have no account-level daily metrics: the raw
-- table exists (and stays empty) so that the platforms union alike
with ranked as (
    select
        account_id,
        date,
        row_number() over (
            partition by account_id, date
            order by extracted_at desc, landing_file desc
        ) as recency
    from raw.tiktok__account_daily
)

select
    'tiktok' as platform,
    account_id,
    date,
    cast(null as bigint) as views,
    cast(null as bigint) as reach,
    cast(null as bigint) as followers_gained
from ranked
where recency = 1
