-- The job functions of each job of `jobs`: one row per (job, function). Getro jobs only.
select job_key, job_function
from {{ ref('stg_getro__job_job_functions') }}
where job_key not in (select job_key from {{ ref('stg_getro__removed_jobs') }})
union all
select job_key, job_function
from {{ ref('stg_getro__removed_job_job_functions') }}
