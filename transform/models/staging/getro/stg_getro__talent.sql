-- Getro network members: one row per live (network, person).
select
    {{ source_key('getro', 'network_id', 'id') }} as talent_key,
    cast(network_id as bigint) as network_id,
    cast(id as bigint) as talent_id,
    first_name,
    last_name,
    lower(email) as email,
    linkedin_url,
    seniority,
    coalesce(share_permission, false) as is_share_permitted,
    coalesce(verified, false) as is_verified,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'talent'), ['network_id', 'id']) }} as src
