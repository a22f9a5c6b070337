-- Getro job details (description and pay), when job_details is loaded; else no rows.
{%- set columns = [
    ('network_id', 'bigint'), ('id', 'bigint'), ('description', 'varchar'),
    ('description_last_updated_at', 'timestamp'), ('compensation_min', 'float8'), ('compensation_max', 'float8'),
    ('compensation_currency', 'varchar'), ('compensation_period', 'varchar'), ('application_method', 'varchar'),
    ('application_path', 'varchar'), ('_sdc_batched_at', 'timestamp'), ('_sdc_deleted_at', 'varchar'),
] %}
select
    {{ source_key('getro', 'network_id', 'id') }} as job_key,
    cast(network_id as bigint) as network_id,
    cast(id as bigint) as job_id,
    description,
    cast(description_last_updated_at as timestamp) as description_updated_at,
    cast(compensation_min as float8) as compensation_min,
    cast(compensation_max as float8) as compensation_max,
    compensation_currency,
    compensation_period,
    application_method,
    application_path,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(optional_source('jobsources', 'job_details', columns), ['network_id', 'id']) }} as src
