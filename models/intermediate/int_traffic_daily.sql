-- views (or sessions) by traffic source per day; item_id '' is the whole account.
-- `traffic` is the union of the sources' traffic days (each source's staging, or its
-- int_<source>__traffic_daily where it needs reshaping), generated from union_of in the YAML
select
    platform,
    account_id,
    item_id,
    date,
    source,
    views
from traffic
