-- every item its own family until the identity model links them
select
    platform,
    account_id,
    item_id,
    'f_' || substr(md5(platform || '|' || account_id || '|' || item_id), 1, 12) as family_id,
    'single' as family_method,
    1.0 as family_confidence
from intermediate.int_items
