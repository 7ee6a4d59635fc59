-- metrics TikTok did not give for a video on a reporting day (a video query left it out,
-- the Business API returned no insights for it): recorded, never fatal
select distinct
    'tiktok' as platform,
    account_id,
    item_id,
    snapshot_date,
    metric,
    code,
    message,
    extracted_at
from raw.tiktok__insight_issues
