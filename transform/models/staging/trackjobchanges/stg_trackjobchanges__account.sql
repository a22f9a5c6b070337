-- The TrackJobChanges account: one row.
select
    lower(email) as email,
    cast(connections_count as bigint) as connections_count,
    cast(_sdc_batched_at as timestamp) as loaded_at
from {{ latest_live(source('jobsources', 'account'), ['email']) }} as src
