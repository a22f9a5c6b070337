-- The job functions of each listed Getro job: one row per (job, function), from `job_functions`.
select distinct
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    {{ string_list_elements('job_functions') }} as job_function
from {{ latest_live(source('jobsources', 'jobs'), ['network_id', 'id']) }} as src
