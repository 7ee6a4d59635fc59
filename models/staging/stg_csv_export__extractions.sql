-- one row per landed export file: the dates it covers, its content hash and rows. Files
-- make no API calls, so calls and retries are 0.
select
    platform,
    account_id,
    run_id,
    window_start,
    window_end,
    case when rows > 0 then window_end end as last_date_returned,
    cast(0 as bigint) as calls,
    cast(0 as bigint) as retries,
    rows as rows_landed,
    extracted_at,
    export,
    source_file,
    sha256,
    bytes
from raw.csv_export__extract_log
