-- Getro networks: one row per live network.
select
    cast(id as bigint) as network_id,
    name as network_name,
    domain,
    tagline,
    logo_url,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'networks'), ['id']) }} as src
