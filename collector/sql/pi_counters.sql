-- Performance Insights' db.* counters that pg_stat_database (database.sql, shared with the
-- metrics) does not give, in one round trip: session states, lock waiters, transaction ID
-- age, and pg_stat_bgwriter as JSON (its columns changed in PG 17, when checkpoints moved to
-- pg_stat_checkpointer, read by pi_checkpointer.sql; the collector maps both spellings).
select a.*,
       (select count(distinct pid)::float8 from pg_locks where not granted)
           as blocked_transactions,
       (select coalesce(max(age(datfrozenxid)), 0)::float8 from pg_database where datallowconn)
           as max_used_xact_ids,
       (select to_jsonb(b) from pg_stat_bgwriter b) as bgwriter
from (select count(*) filter (where state = 'active' and backend_type = 'client backend')::float8
                 as active_transactions,
             count(*) filter (where state in ('idle in transaction',
                                              'idle in transaction (aborted)'))::float8
                 as idle_in_transaction_count,
             count(*) filter (where state = 'idle in transaction (aborted)')::float8
                 as idle_in_transaction_aborted_count,
             coalesce(max(extract(epoch from clock_timestamp() - state_change))
                 filter (where state in ('idle in transaction',
                                         'idle in transaction (aborted)')), 0)::float8
                 as idle_in_transaction_max_time
      from pg_stat_activity) a
