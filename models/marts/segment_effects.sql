-- one row per platform x format x dimension x segment: how far the segment's items sit
-- from their platform x format on the performance index, partially pooled (normal-normal
-- empirical Bayes) so a segment of one lucky item is not a finding, with an 80 % interval
-- and the label a report acts on
with settings as (
    select
        1.2815515655446004 as z_80,  -- the standard normal's 90th percentile
        0.0001 as min_variance  -- floor of both variances (index sd 0.01): never divide by 0
),

scored as (
    select
        posts.platform,
        posts.format,
        posts.account_id,
        posts.item_id,
        posts.topic,
        posts.publish_weekday || ' ' || posts.publish_daypart as publish_slot,
        posts.length_bucket,
        performance.performance_index
    from marts.posts as posts
    inner join marts.post_performance as performance
        on
            posts.platform = performance.platform
            and posts.account_id = performance.account_id
            and posts.item_id = performance.item_id
    -- a live stream's audience comes for the event, not its length or slot: no effects
    where performance.performance_index is not null and posts.format <> 'live'
),

segmented as (
    select
        platform,
        format,
        account_id,
        item_id,
        'topic' as dimension,
        topic as segment,
        performance_index
    from scored
    union all
    select
        platform,
        format,
        account_id,
        item_id,
        'publish_slot' as dimension,
        publish_slot as segment,
        performance_index
    from scored
    union all
    select
        platform,
        format,
        account_id,
        item_id,
        'length_bucket' as dimension,
        length_bucket as segment,
        performance_index
    from scored
),

groups as (
    select
        platform,
        format,
        count(*) as group_items,
        avg(performance_index order by account_id, item_id) as group_mean_index,
        var_samp(performance_index order by account_id, item_id) as group_variance
    from scored
    group by platform, format
),

segments as (
    select
        platform,
        format,
        dimension,
        segment,
        count(*) as items,
        avg(performance_index order by account_id, item_id) as mean_index,
        -- the sum of squared deviations from the segment's own mean
        coalesce(var_pop(performance_index order by account_id, item_id) * count(*), 0)
            as within_squares
    from segmented
    group by platform, format, dimension, segment
),

within as (
    -- sigma2: the pooled within-segment variance of one item (the whole group's variance
    -- when no segment has two items)
    select
        segments.platform,
        segments.format,
        segments.dimension,
        count(*) as segment_count,
        greatest(
            coalesce(
                sum(segments.within_squares order by segments.segment)
                / nullif(sum(segments.items) - count(*), 0),
                any_value(groups.group_variance),
                0
            ),
            any_value(settings.min_variance)
        ) as within_variance
    from segments
    inner join groups
        on segments.platform = groups.platform and segments.format = groups.format
    cross join settings
    group by segments.platform, segments.format, segments.dimension
),

between_segments as (
    -- tau2 by the method of moments: the spread of the segment means beyond what their
    -- sampling error (sigma2 / n) explains, floored
    select
        segments.platform,
        segments.format,
        segments.dimension,
        greatest(
            coalesce(
                var_samp(segments.mean_index order by segments.segment)
                - avg(within.within_variance / segments.items order by segments.segment),
                0
            ),
            any_value(settings.min_variance)
        ) as between_variance
    from segments
    inner join within
        on
            segments.platform = within.platform
            and segments.format = within.format
            and segments.dimension = within.dimension
    cross join settings
    group by segments.platform, segments.format, segments.dimension
),

pooled as (
    select
        segments.platform,
        segments.format,
        segments.dimension,
        segments.segment,
        segments.items,
        segments.mean_index,
        groups.group_items,
        groups.group_mean_index,
        within.within_variance,
        between_segments.between_variance,
        segments.mean_index - groups.group_mean_index as raw_effect,
        -- n / (n + sigma2 / tau2): how much of the segment's own evidence to keep
        segments.items
        / (segments.items + within.within_variance / between_segments.between_variance)
            as shrink_weight
    from segments
    inner join groups
        on segments.platform = groups.platform and segments.format = groups.format
    inner join within
        on
            segments.platform = within.platform
            and segments.format = within.format
            and segments.dimension = within.dimension
    inner join between_segments
        on
            segments.platform = between_segments.platform
            and segments.format = between_segments.format
            and segments.dimension = between_segments.dimension
),

effects as (
    select
        *,
        shrink_weight * raw_effect as shrunk_effect,
        -- the posterior sd: sqrt(1 / (n / sigma2 + 1 / tau2))
        sqrt(shrink_weight * within_variance / items) as standard_error
    from pooled
)

select
    effects.platform,
    effects.format,
    effects.dimension,
    effects.segment,
    effects.items,
    effects.mean_index,
    effects.raw_effect,
    effects.shrink_weight,
    effects.shrunk_effect,
    effects.standard_error,
    effects.shrunk_effect - settings.z_80 * effects.standard_error as effect_lower_80,
    effects.shrunk_effect + settings.z_80 * effects.standard_error as effect_upper_80,
    case
        when effects.shrunk_effect - settings.z_80 * effects.standard_error > 0 then 'invest'
        when effects.shrunk_effect + settings.z_80 * effects.standard_error < 0 then 'avoid'
        else 'unclear'
    end as recommendation,
    effects.group_items,
    effects.group_mean_index,
    effects.within_variance,
    effects.between_variance
from effects
cross join settings
