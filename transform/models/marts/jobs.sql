{#-
  Every job of every source, open or not: Getro jobs (listed or taken down) and Bindbee ATS jobs.

  The joining rule (docs/warehouse.md):
  - A job is identified by its source, the partition it was read from and its id there:
    job_key = 'getro:<network_id>:<id>' or 'bindbee:<connector>:<id>'. The rows of the sources are
    put one under the other (union), never matched across sources: a Getro board and an ATS share
    no id, and the same opening posted on both is two rows (compare `url` to find such pairs).
  - Getro: a job listed in removed_jobs is `removed` (closed_at: its deactivated_at), whether or
    not the jobs list still holds it, or holds it retired (_sdc_deleted_at); a job the jobs list
    holds live and removed_jobs does not is `open`. A job retired from the jobs list without being
    listed as removed (gone from two complete reads) is in neither, so not here: job_history
    keeps its last version and a `deleted` row.
  - Bindbee: the ATS's status, mapped: OPEN -> open, CLOSED and ARCHIVED -> closed, DRAFT -> draft,
    PENDING -> pending, anything else -> other (ats_status keeps the ATS's word); closed_at is the
    ATS's last update of a closed job.
-#}
with

removed as (
    select * from {{ ref('stg_getro__removed_jobs') }}
),

locations as (
    select job_key, string_agg(location, '; ' order by location) as locations
    from {{ ref('job_locations') }}
    group by job_key
),

getro_listed as (
    select
        jobs.job_key,
        'getro' as source,
        cast(jobs.network_id as varchar) as source_partition,
        cast(jobs.job_id as varchar) as source_job_id,
        jobs.title,
        jobs.company_key,
        jobs.company_name,
        jobs.url,
        'open' as status,
        cast(null as varchar) as ats_status,
        details.description,
        jobs.created_at as opened_at,
        cast(null as timestamp) as closed_at,
        coalesce(
            case when jobs.description_updated_at > jobs.created_at then jobs.description_updated_at end,
            jobs.created_at
        ) as last_changed_at,
        jobs.loaded_at
    from {{ ref('stg_getro__jobs') }} as jobs
    left join {{ ref('stg_getro__job_details') }} as details on details.job_key = jobs.job_key
    where jobs.job_key not in (select job_key from removed)
),

getro_removed as (
    select
        removed.job_key,
        'getro' as source,
        cast(removed.network_id as varchar) as source_partition,
        cast(removed.job_id as varchar) as source_job_id,
        removed.title,
        removed.company_key,
        removed.company_name,
        removed.url,
        'removed' as status,
        cast(null as varchar) as ats_status,
        details.description,
        removed.created_at as opened_at,
        removed.removed_at as closed_at,
        removed.removed_at as last_changed_at,
        removed.loaded_at
    from removed
    left join {{ ref('stg_getro__job_details') }} as details on details.job_key = removed.job_key
),

bindbee as (
    select
        job_key,
        'bindbee' as source,
        connector as source_partition,
        ats_job_id as source_job_id,
        title,
        cast(null as varchar) as company_key,
        cast(null as varchar) as company_name,
        url,
        case ats_status
            when 'OPEN' then 'open'
            when 'CLOSED' then 'closed'
            when 'ARCHIVED' then 'closed'
            when 'DRAFT' then 'draft'
            when 'PENDING' then 'pending'
            else 'other'
        end as status,
        ats_status,
        description,
        created_at as opened_at,
        case when ats_status in ('CLOSED', 'ARCHIVED') then updated_at end as closed_at,
        modified_at as last_changed_at,
        loaded_at
    from {{ ref('stg_bindbee__ats_jobs') }}
),

all_jobs as (
    select * from getro_listed
    union all
    select * from getro_removed
    union all
    select * from bindbee
)

select
    all_jobs.job_key,
    all_jobs.source,
    all_jobs.source_partition,
    all_jobs.source_job_id,
    all_jobs.title,
    all_jobs.company_key,
    all_jobs.company_name,
    locations.locations,
    all_jobs.url,
    all_jobs.status,
    all_jobs.status = 'open' as is_open,
    all_jobs.ats_status,
    all_jobs.description,
    all_jobs.opened_at,
    all_jobs.closed_at,
    all_jobs.last_changed_at,
    all_jobs.loaded_at
from all_jobs
left join locations on locations.job_key = all_jobs.job_key
