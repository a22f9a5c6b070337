-- Getro's job functions.
select name as job_function, cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'job_functions'), ['name']) }} as src
