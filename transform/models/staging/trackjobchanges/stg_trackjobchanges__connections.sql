-- TrackJobChanges connections: one row per live connection, its current employment unpacked.
select
    cast(id as bigint) as connection_id,
    group_id,
    first_name,
    last_name,
    linkedin_url,
    nullif(location, '') as location,
    coalesce(in_eu, false) as is_in_eu,
    coalesce(has_new_job, false) as is_new_job_flagged,
    coalesce(has_new_title, false) as is_new_title_flagged,
    cast(created_at as timestamp) as created_at,
    cast(new_job_flagged_at as timestamp) as new_job_flagged_at,
    cast(employment_checked_at as timestamp) as employment_checked_at,
    {{ json_text('current_employment', 'company') }} as current_company,
    lower({{ json_text('current_employment', 'domain') }}) as current_company_domain,
    {{ json_text('current_employment', 'title') }} as current_title,
    cast({{ json_text('current_employment', 'started_at') }} as date) as current_started_on,
    {{ json_text('starting_employment', 'company') }} as starting_company,
    {{ json_text('starting_employment', 'title') }} as starting_title,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'connections'), ['id']) }} as src
