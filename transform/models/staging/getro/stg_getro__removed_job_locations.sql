-- Where each removed Getro job was: one row per (job, location).
select distinct
    'getro:' || cast(network_id as varchar) || ':' || cast(id as varchar) as job_key,
    {{ string_list_elements('locations') }} as location
from {{ latest_live(source('jobsources', 'removed_jobs'), ['network_id', 'id']) }} as src
