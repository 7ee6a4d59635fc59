-- every GA4 runReport request: the window and page it asked for, what came back, GA4's own
-- flags about the numbers (sampling, thresholding, the "(other)" row) and the tokens spent
select
    'ga4' as platform,
    account_id,
    report,
    window_start,
    window_end,
    page_offset,
    page_limit,
    rows_returned,
    row_count,
    is_sampled,
    samples_read,
    sampling_space,
    data_loss_from_other_row,
    subject_to_thresholding,
    superseded,
    tokens_consumed,
    tokens_per_day_remaining,
    tokens_per_hour_remaining,
    tokens_per_project_per_hour_remaining,
    run_id,
    extracted_at
from raw.ga4__report_requests
