-- Where each listed Getro job is: one row per (job, location), from the jobs' `locations` list.
select distinct
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    {{ string_list_elements('locations') }} as location
from {{ latest_live(source('jobsources', 'jobs'), ['network_id', 'id']) }} as src
