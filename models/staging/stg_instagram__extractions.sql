-- one row per completed Instagram extraction unit (a batch of posts due a snapshot): the
-- window of the run, the reporting day read, and what it cost
select
    'instagram' as platform,
    account_id,
    run_id,
    window_start,
    window_end,
    last_date_returned,
    calls,
    retries,
    rows as rows_landed,
    extracted_at
from raw.instagram__extract_log
