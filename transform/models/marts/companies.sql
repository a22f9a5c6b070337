-- Getro companies across networks: one row per (network, company), with its jobs.
with job_counts as (
    select
        company_key,
        sum(case when status = 'open' then 1 else 0 end) as open_jobs,
        sum(case when status = 'removed' then 1 else 0 end) as removed_jobs
    from {{ ref('jobs') }}
    where source = 'getro'
    group by company_key
)

select
    companies.company_key,
    companies.network_id,
    networks.network_name,
    companies.company_id,
    companies.company_name,
    companies.slug,
    companies.domain,
    companies.description,
    companies.logo_url,
    coalesce(job_counts.open_jobs, 0) as open_jobs,
    coalesce(job_counts.removed_jobs, 0) as removed_jobs,
    coalesce(job_counts.open_jobs, 0) > 0 as is_hiring,
    companies.loaded_at
from {{ ref('stg_getro__companies') }} as companies
left join {{ ref('stg_getro__networks') }} as networks on networks.network_id = companies.network_id
left join job_counts on job_counts.company_key = companies.company_key
