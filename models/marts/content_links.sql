-- the evidence behind content families, with both items' titles and links: the analysts'
-- review list is `where to_review`; settle a pair by adding it to the registry
select
    links.platform_a,
    links.account_id_a,
    links.item_id_a,
    a.title as title_a,
    a.url as url_a,
    links.platform_b,
    links.account_id_b,
    links.item_id_b,
    b.title as title_b,
    b.url as url_b,
    links.method,
    links.confidence,
    links.status,
    links.to_review,
    links.note,
    a.family_id as family_id_a,
    b.family_id as family_id_b
from intermediate.int_content_links as links
left join marts.posts as a
    on
        links.platform_a = a.platform
        and links.account_id_a = a.account_id
        and links.item_id_a = a.item_id
left join marts.posts as b
    on
        links.platform_b = b.platform
        and links.account_id_b = b.account_id
        and links.item_id_b = b.item_id
