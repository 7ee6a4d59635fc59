-- every platform item in the unified item shape: `items` is the union of the sources'
-- posts (videos, pages), generated from union_of in the YAML, so a new source adds no
-- branch here (gone_reason: why an item is gone, where its platform can tell; NULL while
-- it is there)
select
    platform,
    account_id,
    item_id,
    title,
    description,
    url,
    links,
    tags,
    published_at,
    format,
    duration_s,
    gone_reason,
    gone_since
from items
