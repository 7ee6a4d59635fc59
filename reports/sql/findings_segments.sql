-- segments whose 80 % interval on the performance index is clear of zero (invest or
-- avoid), strongest first; 'untagged' and 'unknown' are not segments anyone can act on
select
    effects.platform,
    effects.format,
    effects.dimension,
    effects.segment,
    effects.items,
    effects.shrunk_effect,
    effects.effect_lower_80,
    effects.effect_upper_80,
    effects.recommendation,
    effects.group_items,
    (select count(distinct platforms.platform) from marts.segment_effects as platforms)
        as platforms_in_portfolio
from marts.segment_effects as effects
where
    effects.recommendation in ('invest', 'avoid')
    and effects.segment not in ('untagged', 'unknown')
order by
    greatest(effects.effect_lower_80, -effects.effect_upper_80) desc,
    effects.platform asc,
    effects.format asc,
    effects.dimension asc,
    effects.segment asc
