{#-
  Who in the network moved from which company to which, and when (TrackJobChanges).

  A connection's employments, ordered by start date (unknown first, then by id), are its career;
  each employment at another company than the one before it is a move, from the one before it.
  One row per move, keyed by the employment moved to.
-#}
with ordered as (
    select
        employments.*,
        lag(employment_id) over career as from_employment_id,
        lag(company) over career as from_company,
        lag(title) over career as from_title,
        lag(ended_on) over career as from_ended_on
    from {{ ref('stg_trackjobchanges__employments') }} as employments
    window career as (partition by connection_id order by started_on nulls first, employment_id)
)

select
    ordered.employment_id as to_employment_id,
    ordered.connection_id,
    connections.first_name,
    connections.last_name,
    connections.linkedin_url,
    ordered.from_employment_id,
    ordered.from_company,
    ordered.from_title,
    ordered.from_ended_on,
    ordered.company as to_company,
    ordered.title as to_title,
    ordered.started_on as moved_on,
    ordered.is_current,
    case when ordered.is_current and connections.is_new_job_flagged then connections.new_job_flagged_at end
        as flagged_at
from ordered
inner join {{ ref('stg_trackjobchanges__connections') }} as connections
    on connections.connection_id = ordered.connection_id
where ordered.from_employment_id is not null
    and ordered.from_company is distinct from ordered.company
