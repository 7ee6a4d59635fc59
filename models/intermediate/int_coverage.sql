-- per account: the newest reporting day the platform has returned, and the newest
-- extraction; the two days up to the newest are still provisional on YouTube
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_youtube__extractions
group by platform, account_id
union all
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_ga4__extractions
group by platform, account_id
union all
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_instagram__extractions
group by platform, account_id
union all
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_facebook__extractions
group by platform, account_id
union all
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_tiktok__extractions
group by platform, account_id
union all
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from staging.stg_csv_export__extractions
group by platform, account_id
