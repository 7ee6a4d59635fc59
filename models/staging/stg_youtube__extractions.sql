-- one row per completed YouTube extraction unit: the window asked for, the last date the
-- API actually returned, and what it cost
select
    'youtube' as platform,
    account_id,
    run_id,
    window_start,
    window_end,
    last_date_returned,
    calls,
    quota_units,
    retries,
    rows as rows_landed,
    extracted_at
from raw.youtube__extract_log
