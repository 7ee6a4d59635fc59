-- per invest/avoid segment and publish week (the three ISO weeks ending with the report
-- week): the median performance index of the segment's items against the median of every
-- item in the portfolio published that week
with indexed as (
    select
        posts.platform,
        posts.format,
        posts.topic,
        posts.publish_weekday || ' ' || posts.publish_daypart as publish_slot,
        posts.length_bucket,
        cast(date_trunc('week', posts.published_date) as date) as week_start,
        performance.performance_index
    from marts.posts as posts
    inner join marts.post_performance as performance
        on
            posts.platform = performance.platform
            and posts.account_id = performance.account_id
            and posts.item_id = performance.item_id
    where
        performance.performance_index is not null
        and posts.published_date between $week_start - interval 14 days and $week_end
),

segmented as (
    select
        platform,
        format,
        'topic' as dimension,
        topic as segment,
        week_start,
        performance_index
    from indexed
    union all
    select
        platform,
        format,
        'publish_slot' as dimension,
        publish_slot as segment,
        week_start,
        performance_index
    from indexed
    union all
    select
        platform,
        format,
        'length_bucket' as dimension,
        length_bucket as segment,
        week_start,
        performance_index
    from indexed
),

portfolio as (
    select
        week_start,
        median(performance_index) as portfolio_median_index,
        count(*) as portfolio_posts
    from indexed
    group by week_start
),

segment_weeks as (
    select
        segmented.platform,
        segmented.format,
        segmented.dimension,
        segmented.segment,
        segmented.week_start,
        median(segmented.performance_index) as segment_median_index,
        count(*) as segment_posts
    from segmented
    inner join marts.segment_effects as effects
        on
            segmented.platform = effects.platform
            and segmented.format = effects.format
            and segmented.dimension = effects.dimension
            and segmented.segment = effects.segment
    where effects.recommendation in ('invest', 'avoid')
    group by
        segmented.platform,
        segmented.format,
        segmented.dimension,
        segmented.segment,
        segmented.week_start
)

select
    segment_weeks.platform,
    segment_weeks.format,
    segment_weeks.dimension,
    segment_weeks.segment,
    segment_weeks.week_start,
    strftime(segment_weeks.week_start, '%G-W%V') as iso_week,
    segment_weeks.segment_median_index,
    segment_weeks.segment_posts,
    portfolio.portfolio_median_index,
    portfolio.portfolio_posts
from segment_weeks
inner join portfolio on segment_weeks.week_start = portfolio.week_start
order by
    segment_weeks.platform asc,
    segment_weeks.format asc,
    segment_weeks.dimension asc,
    segment_weeks.segment asc,
    segment_weeks.week_start asc
