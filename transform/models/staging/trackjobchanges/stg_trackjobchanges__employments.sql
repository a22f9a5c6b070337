-- TrackJobChanges employments: one row per live employment (dates are dates: *_on).
select
    cast(id as bigint) as employment_id,
    cast(connection_id as bigint) as connection_id,
    company,
    lower(domain) as company_domain,
    title,
    lower(email) as email,
    cast(email_confidence as integer) as email_confidence,
    cast(started_at as date) as started_on,
    cast(ended_at as date) as ended_on,
    coalesce("current", false) as is_current,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'employments'), ['id']) }} as src
