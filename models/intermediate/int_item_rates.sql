-- one row per item: its engagement rate by views, raw and shrunk toward its platform x
-- format prior (empirical Bayes, beta-binomial), with an 80 % interval whose lower bound
-- is what rankings use: a 2-view item with 2 engagements does not outrank a 10,000-view one;
-- items whose views the platform did not report have no row
with priors as (
    select
        platform,
        format,
        prior_source,
        alpha,
        beta
    from intermediate.int_rate_priors
    where rate = 'er_by_views'
),

posteriors as (
    select
        totals.platform,
        totals.account_id,
        totals.item_id,
        totals.format,
        totals.views,
        totals.engagements,
        priors.prior_source,
        -- Beta(alpha + k, beta + n - k), engagements capped at views as in the fit
        priors.alpha + least(totals.engagements, totals.views) as posterior_alpha,
        priors.alpha + priors.beta + totals.views as posterior_strength
    from intermediate.int_item_totals as totals
    inner join priors
        on totals.platform = priors.platform and totals.format = priors.format
    -- no rate without its denominator: views the platform did not report stay unrated
    where totals.views is not null
),

shrunk as (
    select
        *,
        posterior_alpha / posterior_strength as rate_shrunk,
        -- the posterior's standard deviation
        sqrt(
            (posterior_alpha / posterior_strength)
            * (1 - posterior_alpha / posterior_strength)
            / (posterior_strength + 1)
        ) as rate_sd
    from posteriors
)

select
    platform,
    account_id,
    item_id,
    format,
    views,
    engagements,
    engagements / nullif(views, 0) as er_by_views,
    rate_shrunk as er_by_views_shrunk,
    -- normal approximation to the Beta posterior (DuckDB has no beta quantile), kept in [0, 1]
    greatest(rate_shrunk - 1.2815515655446004 * rate_sd, 0.0) as er_by_views_lower_80,
    least(rate_shrunk + 1.2815515655446004 * rate_sd, 1.0) as er_by_views_upper_80,
    prior_source as er_by_views_prior_source
from shrunk
