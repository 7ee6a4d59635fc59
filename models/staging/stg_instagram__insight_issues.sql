-- metrics the Graph API did not give for a post on a reporting day (retired, unsupported
-- for its product type, refused with error 100, not enough viewers, answered empty):
-- recorded, never fatal
select distinct
    'instagram' as platform,
    account_id,
    item_id,
    snapshot_date,
    metric,
    code,
    message,
    extracted_at
from raw.instagram__insight_issues
