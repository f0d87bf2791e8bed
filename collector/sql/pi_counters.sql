-- Performance Insights' db.* counters, instance-wide (cumulative counters and gauges), in one
-- round trip. pg_stat_bgwriter comes as JSON: its columns changed in PG 17 (checkpoints moved
-- to pg_stat_checkpointer, read by pi_checkpointer.sql); the collector maps both spellings.
select d.*, a.*, l.*, (select to_jsonb(b) from pg_stat_bgwriter b) as bgwriter
from (select coalesce(sum(numbackends), 0)::float8 as numbackends,
             coalesce(sum(xact_commit), 0)::float8 as xact_commit,
             coalesce(sum(xact_rollback), 0)::float8 as xact_rollback,
             coalesce(sum(blks_read), 0)::float8 as blks_read,
             coalesce(sum(blks_hit), 0)::float8 as blks_hit,
             coalesce(sum(tup_returned), 0)::float8 as tup_returned,
             coalesce(sum(tup_fetched), 0)::float8 as tup_fetched,
             coalesce(sum(tup_inserted), 0)::float8 as tup_inserted,
             coalesce(sum(tup_updated), 0)::float8 as tup_updated,
             coalesce(sum(tup_deleted), 0)::float8 as tup_deleted,
             coalesce(sum(temp_files), 0)::float8 as temp_files,
             coalesce(sum(temp_bytes), 0)::float8 as temp_bytes,
             coalesce(sum(deadlocks), 0)::float8 as deadlocks,
             coalesce(sum(blk_read_time), 0)::float8 as blk_read_time,
             coalesce(sum(blk_write_time), 0)::float8 as blk_write_time,
             coalesce(max(age(datfrozenxid)) filter (where datallowconn), 0)::float8
                 as max_used_xact_ids
      from pg_stat_database
      left join pg_database using (datname)) d,
     (select count(*) filter (where state = 'active' and backend_type = 'client backend')::float8
                 as active_transactions,
             count(*) filter (where state in ('idle in transaction', 'idle in transaction (aborted)'))::float8
                 as idle_in_transaction_count,
             count(*) filter (where state = 'idle in transaction (aborted)')::float8
                 as idle_in_transaction_aborted_count,
             coalesce(max(extract(epoch from clock_timestamp() - state_change))
                 filter (where state in ('idle in transaction', 'idle in transaction (aborted)')), 0)::float8
                 as idle_in_transaction_max_time
      from pg_stat_activity) a,
     (select count(distinct pid)::float8 as blocked_transactions
      from pg_locks where not granted) l
