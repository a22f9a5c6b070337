-- Getro jobs taken down: one row per (network, job), with when.
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
    cast(deactivated_at as timestamp) as removed_at,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'removed_jobs'), ['network_id', 'id']) }} as src
