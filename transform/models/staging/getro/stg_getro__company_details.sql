-- Getro company details (the tagline and description the list lacks), when company_details is loaded; else no rows.
{%- set columns = [
    ('network_id', 'bigint'), ('id', 'bigint'), ('tagline', 'varchar'), ('description', 'varchar'),
    ('_sdc_batched_at', 'timestamp'), ('_sdc_deleted_at', 'varchar'),
] %}
select
    {{ source_key('getro', 'network_id', 'id') }} as company_key,
    cast(network_id as bigint) as network_id,
    cast(id as bigint) as company_id,
    tagline,
    description,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(optional_source('jobsources', 'company_details', columns), ['network_id', 'id']) }} as src
