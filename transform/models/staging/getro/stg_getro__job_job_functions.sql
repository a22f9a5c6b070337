-- The job functions of each listed Getro job: one row per (job, function), from `job_functions`.
select distinct
    'getro:' || cast(network_id as varchar) || ':' || cast(id as varchar) as job_key,
    {{ string_list_elements('job_functions') }} as job_function
from {{ latest_live(source('jobsources', 'jobs'), ['network_id', 'id']) }} as src
