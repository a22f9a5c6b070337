-- The job functions of each removed Getro job: one row per (job, function).
select distinct
    'getro:' || cast(network_id as varchar) || ':' || cast(id as varchar) as job_key,
    {{ string_list_elements('job_functions') }} as job_function
from {{ latest_live(source('jobsources', 'removed_jobs'), ['network_id', 'id']) }} as src
