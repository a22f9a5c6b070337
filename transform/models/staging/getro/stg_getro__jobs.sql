-- Getro jobs listed now: one row per live (network, job). A job the target retired
-- (_sdc_deleted_at: vanished from two complete reads, or taken down: see stg_getro__removed_jobs)
-- is not here.
select
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    cast(network_id as bigint) as network_id,
    cast(id as bigint) as job_id,
    title,
    url,
    {{ source_key('getro', 'network_id', json_text('company', 'id')) }} as company_key,
    cast({{ json_text('company', 'id') }} as bigint) as company_id,
    {{ json_text('company', 'name') }} as company_name,
    cast(created_at as timestamp) as created_at,
    cast(description_last_updated_at as timestamp) as description_updated_at,
    coalesce(manually_posted, false) as is_manually_posted,
    coalesce(featured, false) as is_featured,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'jobs'), ['network_id', 'id']) }} as src
