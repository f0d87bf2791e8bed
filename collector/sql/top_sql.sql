-- min_version: 130000
-- pg_stat_statements totals per query id, without the statement text (cheap); the column
-- names are those of PG 13+ (total_exec_time). Deltas between two reads are the top SQL stats.
select queryid,
       sum(calls)::float8 as calls,
       sum(total_exec_time)::float8 as total_time_ms,
       sum(rows)::float8 as rows,
       sum(shared_blks_hit)::float8 as shared_blks_hit,
       sum(shared_blks_read)::float8 as shared_blks_read,
       sum(shared_blks_dirtied)::float8 as shared_blks_dirtied,
       sum(shared_blks_written)::float8 as shared_blks_written,
       sum(temp_blks_read)::float8 as temp_blks_read,
       sum(temp_blks_written)::float8 as temp_blks_written
from {schema}.pg_stat_statements(false)
where queryid is not null
group by queryid
