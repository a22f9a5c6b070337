-- Where each job of `jobs` is (or was): one row per (job, location). Getro jobs only: Bindbee
-- gives offices as ids, not places.
select job_key, location
from {{ ref('stg_getro__job_locations') }}
where job_key not in (select job_key from {{ ref('stg_getro__removed_jobs') }})
union all
select job_key, location
from {{ ref('stg_getro__removed_job_locations') }}
