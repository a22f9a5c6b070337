-- Every version of every job's title, status, locations and description, from the snapshot
-- jobs_snapshot (taken at each build): "what changed this week" is
--   select * from job_history where changed_at >= current_date - 7 and change <> 'added'
with versions as (
    select
        dbt_scd_id,
        job_key,
        source,
        title,
        status,
        locations,
        description,
        cast(dbt_valid_from as timestamp) as changed_at,
        cast(dbt_valid_to as timestamp) as superseded_at,
        coalesce(cast(dbt_is_deleted as varchar) in ('True', 'true'), false) as is_deleted
    from {{ ref('jobs_snapshot') }}
)

select
    dbt_scd_id as version_key,
    job_key,
    source,
    title,
    status,
    locations,
    description,
    case
        when is_deleted then 'deleted'
        when lag(job_key) over job_versions is null then 'added'
        else 'changed'
    end as change,
    lag(title) over job_versions as previous_title,
    lag(status) over job_versions as previous_status,
    lag(locations) over job_versions as previous_locations,
    changed_at,
    superseded_at,
    superseded_at is null as is_current,
    is_deleted
from versions
window job_versions as (partition by job_key order by changed_at)
