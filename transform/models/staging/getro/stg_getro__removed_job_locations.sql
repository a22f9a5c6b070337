-- Where each removed Getro job was: one row per (job, location).
select distinct
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    {{ string_list_elements('locations') }} as location
from {{ latest_live(source('jobsources', 'removed_jobs'), ['network_id', 'id']) }} as src
