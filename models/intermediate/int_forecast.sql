-- one row per item: day-30 and day-90 views forecast from the newest known early figure
-- (Szabo-Huberman: ln(v_to + 1) = ln(v_from + 1) + b per platform x format), with an 80 %
-- interval, only while the figure is not known yet; never below the views already seen
with settings as (
    select 1.2815515655446004 as z_80  -- the standard normal's 90th percentile
),

fits as (
    select
        forecast_fits.platform,
        forecast_fits.format,
        forecast_fits.horizon,
        forecast_fits.log_growth,
        -- the prediction interval's half-width on the log scale: the residual spread and
        -- the uncertainty of b
        settings.z_80 * forecast_fits.log_growth_sd * sqrt(1 + 1 / forecast_fits.fit_items)
            as log_half_width
    from intermediate.int_forecast_fits as forecast_fits
    cross join settings
    where forecast_fits.log_growth is not null
),

items as (
    select
        platform,
        account_id,
        item_id,
        format,
        age_days,
        views,
        views_d7,
        views_d30,
        views_d90,
        case when views_d30 is null and views_d7 is not null then 'd7' end as d30_basis,
        case
            when views_d90 is not null then null
            when views_d30 is not null then 'd30'
            when views_d7 is not null then 'd7'
        end as d90_basis
    from intermediate.int_item_totals
),

centers as (
    select
        items.*,
        ln(items.views_d7 + 1) + d30_fit.log_growth as d30_log_center,
        d30_fit.log_half_width as d30_log_half_width,
        ln(
            case when items.d90_basis = 'd30' then items.views_d30 else items.views_d7 end + 1
        ) + d90_fit.log_growth as d90_log_center,
        d90_fit.log_half_width as d90_log_half_width
    from items
    left join fits as d30_fit
        on
            items.platform = d30_fit.platform
            and items.format = d30_fit.format
            and items.d30_basis = 'd7'
            and d30_fit.horizon = 'd7_to_d30'
    left join fits as d90_fit
        on
            items.platform = d90_fit.platform
            and items.format = d90_fit.format
            and d90_fit.horizon = items.d90_basis || '_to_d90'
),

bounds as (
    select
        platform,
        account_id,
        item_id,
        format,
        age_days,
        views,
        views_d7,
        views_d30,
        views_d90,
        d90_basis,
        exp(d30_log_center) - 1 as d30_forecast,
        exp(d30_log_center - d30_log_half_width) - 1 as d30_lower,
        exp(d30_log_center + d30_log_half_width) - 1 as d30_upper,
        exp(d90_log_center) - 1 as d90_forecast,
        exp(d90_log_center - d90_log_half_width) - 1 as d90_lower,
        exp(d90_log_center + d90_log_half_width) - 1 as d90_upper
    from centers
)

-- the views already seen are a floor; greatest() skips NULLs, so the case keeps a
-- missing forecast missing
select
    platform,
    account_id,
    item_id,
    format,
    age_days,
    views,
    views_d7,
    views_d30,
    views_d90,
    case when d30_forecast is not null then greatest(d30_forecast, views) end
        as views_d30_forecast,
    case when d30_lower is not null then greatest(d30_lower, views) end
        as views_d30_forecast_lower_80,
    case when d30_upper is not null then greatest(d30_upper, views) end
        as views_d30_forecast_upper_80,
    case when d90_forecast is not null then d90_basis end as views_d90_forecast_basis,
    case when d90_forecast is not null then greatest(d90_forecast, views) end
        as views_d90_forecast,
    case when d90_lower is not null then greatest(d90_lower, views) end
        as views_d90_forecast_lower_80,
    case when d90_upper is not null then greatest(d90_upper, views) end
        as views_d90_forecast_upper_80
from bounds
