-- Getro companies: one row per live (network, company).
select
    {{ source_key('getro', 'network_id', 'id') }} as company_key,
    cast(network_id as bigint) as network_id,
    cast(id as bigint) as company_id,
    name as company_name,
    slug,
    lower(domain) as domain,
    description,
    logo_url,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'companies'), ['network_id', 'id']) }} as src
