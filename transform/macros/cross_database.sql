{#- What differs between the two warehouses the models run on, and nothing else.

    target-duckdb (jwills 0.8) and target-postgres (meltanolabs 0.8) store the same stream in
    different types: DuckDB keeps integers as HUGEINT, lists and objects as JSON, dates as text and
    _sdc_deleted_at as text; PostgreSQL keeps BIGINT, lists of strings as TEXT[], lists of objects
    as JSONB[], objects as JSONB, DATE and TIMESTAMP. Both keep every
    date-time as a TIMESTAMP without zone holding UTC (the tap sends UTC). -#}

{#- The elements of a list of strings, one row each (a set-returning expression, for a select
    list). -#}
{% macro string_list_elements(column) -%}
  {{ return(adapter.dispatch('string_list_elements', 'jobsources')(column)) }}
{%- endmacro %}

{% macro default__string_list_elements(column) -%}
  unnest({{ column }})
{%- endmacro %}

{% macro duckdb__string_list_elements(column) -%}
  unnest(from_json({{ column }}, '["VARCHAR"]'))
{%- endmacro %}

{#- A field of a JSON object, as text (the same operator on both). -#}
{% macro json_text(column, key) -%}
  ({{ column }} ->> '{{ key }}')
{%- endmacro %}

{#- The first element of a list of strings. -#}
{% macro string_list_first(column) -%}
  {{ return(adapter.dispatch('string_list_first', 'jobsources')(column)) }}
{%- endmacro %}

{% macro default__string_list_first(column) -%}
  ({{ column }})[1]
{%- endmacro %}

{% macro duckdb__string_list_first(column) -%}
  ({{ column }} ->> '$[0]')
{%- endmacro %}

{#- A date-time the loader may have kept as text (target-duckdb's _sdc_deleted_at, the record's own
    value, '2026-01-02T03:04:05Z'), as a UTC TIMESTAMP without zone. -#}
{% macro utc_timestamp(column) -%}
  {{ return(adapter.dispatch('utc_timestamp', 'jobsources')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
  cast({{ column }} as timestamp)
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
  cast(cast({{ column }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- A stream that may not have been loaded (job_details is not selected by default): its table if
    the loader created it, else no rows with the same columns. `columns`: [(name, type), ...]. -#}
{% macro optional_source(source_name, table_name, columns) -%}
  {%- set relation = source(source_name, table_name) -%}
  {%- set found = none -%}
  {%- if execute -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
  {%- endif -%}
  {%- if found is not none -%}
    (select {% for name, type in columns %}{{ name }}{% if not loop.last %}, {% endif %}{% endfor %} from {{ relation }})
  {%- else -%}
    (select {% for name, type in columns %}cast(null as {{ type }}) as {{ name }}{% if not loop.last %}, {% endif %}{% endfor %} where 1 = 0)
  {%- endif -%}
{%- endmacro %}

{#- The newest row of each key (the loaders upsert on the key, but a table loaded without it, or
    by BATCH files, may hold several), without the rows the loader retired. -#}
{% macro latest_live(relation, key) -%}
  (
    select *
    from (
      select
        ranked_source.*,
        row_number() over (partition by {{ key | join(', ') }} order by _sdc_batched_at desc nulls last) as _row_rank
      from {{ relation }} as ranked_source
    ) as ranked
    where _row_rank = 1 and _sdc_deleted_at is null
  )
{%- endmacro %}
