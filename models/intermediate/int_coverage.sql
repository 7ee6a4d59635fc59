-- per account: the newest reporting day the platform has returned, and the newest
-- extraction; the two days up to the newest are still provisional on YouTube.
-- `extractions` is the union of the sources' extraction logs (union_of in the YAML)
select
    platform,
    account_id,
    max(last_date_returned) as last_date,
    max(extracted_at) as last_extracted_at
from extractions
group by platform, account_id
