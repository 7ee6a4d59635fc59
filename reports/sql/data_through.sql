-- the first and the newest reporting date in the snapshot
select
    min(date) as data_from,
    max(date) as data_through
from marts.post_daily
