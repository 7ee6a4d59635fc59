-- one row per completed GA4 extraction unit: the window asked for, the last date GA4
-- returned, and what it cost (calls, property tokens, retries)
select
    'ga4' as platform,
    account_id,
    run_id,
    window_start,
    window_end,
    last_date_returned,
    calls,
    quota_units as tokens,
    retries,
    rows as rows_landed,
    extracted_at
from raw.ga4__extract_log
