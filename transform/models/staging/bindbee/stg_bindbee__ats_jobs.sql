-- Bindbee ATS jobs: one row per live (connector, job), its status as the ATS says it.
select
    {{ source_key('bindbee', 'connector', 'id') }} as job_key,
    connector,
    id as ats_job_id,
    remote_id,
    name as title,
    description,
    code,
    upper(status) as ats_status,
    {{ string_list_first('job_posting_urls') }} as url,
    coalesce(confidential, false) as is_confidential,
    cast(remote_created_at as timestamp) as created_at,
    cast(remote_updated_at as timestamp) as updated_at,
    cast(modified_at as timestamp) as modified_at,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'ats_jobs'), ['connector', 'id']) }} as src
