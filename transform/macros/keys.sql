{#- The one rule of every key the marts join on: '<source>:<partition>:<id>' (a Getro network and
    its job, company or talent id; a Bindbee connector and its job id), never matched across
    sources (docs/warehouse.md). -#}
{% macro source_key(source, partition, id) -%}
  '{{ source }}:' || cast({{ partition }} as varchar) || ':' || cast({{ id }} as varchar)
{%- endmacro %}
