-- the beta prior of each engagement rate per platform x format, fitted by the method of
-- moments over items with enough views; a group with too few such items borrows its
-- platform's fit, and a platform with too few borrows Jeffreys' Beta(0.5, 0.5)
with settings as (
    select
        100 as min_views,  -- an item counts in the fit from this many views
        5 as min_items,  -- a fit needs at least this many items (as peer groups do)
        1e-6 as min_rho  -- no measurable over-dispersion: a prior worth ~1e6 views at most
),

observed as (
    -- engagements above views (possible: a share or like without a counted view) are
    -- capped at views, so the binomial model holds
    select
        totals.platform,
        totals.format,
        totals.account_id,
        totals.item_id,
        totals.views as trials,
        least(totals.engagements, totals.views) as successes
    from intermediate.int_item_totals as totals
    cross join settings
    where totals.views >= settings.min_views
),

moments as (
    -- the platform x format rows and, with format NULL, each platform's whole
    select
        platform,
        format,
        grouping(format) = 1 as is_platform_row,
        count(*) as items,
        avg(successes / trials order by format, account_id, item_id) as mean_rate,
        var_samp(successes / trials order by format, account_id, item_id) as rate_variance,
        avg(1 / trials order by format, account_id, item_id) as mean_inverse_trials
    from observed
    group by grouping sets ((platform, format), (platform))
),

fits as (
    -- beta-binomial: Var(k/n) = m (1 - m) (1/n + rho (1 - 1/n)), rho = 1 / (alpha + beta + 1);
    -- averaged over the items' n and solved for rho
    select
        moments.platform,
        moments.format,
        moments.is_platform_row,
        moments.items,
        moments.mean_rate,
        least(
            greatest(
                (
                    moments.rate_variance / (moments.mean_rate * (1 - moments.mean_rate))
                    - moments.mean_inverse_trials
                )
                / (1 - moments.mean_inverse_trials),
                settings.min_rho
            ),
            0.999
        ) as rho
    from moments
    cross join settings
    where
        moments.items >= settings.min_items
        and moments.mean_rate > 0
        and moments.mean_rate < 1
        and moments.mean_inverse_trials < 1
),

groups as (
    select distinct
        platform,
        format
    from intermediate.int_item_totals
),

chosen as (
    select
        groups.platform,
        groups.format,
        case
            when own.items is not null then 'platform_format'
            when platform_fit.items is not null then 'platform'
            else 'jeffreys'
        end as prior_source,
        coalesce(own.items, platform_fit.items, 0) as prior_items,
        coalesce(own.mean_rate, platform_fit.mean_rate, 0.5) as prior_mean,
        -- alpha + beta; Jeffreys' prior is worth one trial
        coalesce(1 / own.rho - 1, 1 / platform_fit.rho - 1, 1.0) as prior_strength
    from groups
    left join fits as own
        on
            groups.platform = own.platform
            and groups.format = own.format
            and not own.is_platform_row
    left join fits as platform_fit
        on groups.platform = platform_fit.platform and platform_fit.is_platform_row
)

select
    chosen.platform,
    chosen.format,
    'er_by_views' as rate,
    chosen.prior_source,
    chosen.prior_items,
    settings.min_views as prior_min_views,
    chosen.prior_mean,
    chosen.prior_strength,
    chosen.prior_mean * chosen.prior_strength as alpha,
    (1 - chosen.prior_mean) * chosen.prior_strength as beta
from chosen
cross join settings
