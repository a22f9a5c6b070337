-- Getro's experience levels.
select name as experience_level, cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'experience_levels'), ['name']) }} as src
