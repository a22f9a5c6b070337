-- The job functions of each removed Getro job: one row per (job, function).
select distinct
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    {{ string_list_elements('job_functions') }} as job_function
from {{ latest_live(source('jobsources', 'removed_jobs'), ['network_id', 'id']) }} as src
