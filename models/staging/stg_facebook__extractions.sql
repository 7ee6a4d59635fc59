-- one row per completed Facebook extraction unit (a batch of posts due a snapshot): the
-- window of the run, the reporting day read, and what it cost
select
    'facebook' as platform,
    account_id,
    run_id,
    window_start,
    window_end,
    last_date_returned,
    calls,
    retries,
    rows as rows_landed,
    extracted_at
from raw.facebook__extract_log
