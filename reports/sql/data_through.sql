-- the newest reporting date in the snapshot
select max(date) as data_through
from marts.post_daily
