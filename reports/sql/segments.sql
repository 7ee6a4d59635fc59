-- topic and publish-slot effects on the performance index, with their 80 % intervals
select
    platform,
    format,
    dimension,
    segment,
    items,
    shrunk_effect,
    effect_lower_80,
    effect_upper_80,
    recommendation
from marts.segment_effects
where dimension in ('topic', 'publish_slot')
order by dimension asc, abs(shrunk_effect) desc
