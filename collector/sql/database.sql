-- Instance-wide sums over pg_stat_database (shared objects included), and the age of the
-- oldest unfrozen transaction id of any database (MaximumUsedTransactionIDs).
select coalesce(sum(numbackends), 0)::int as backends,
       coalesce(sum(xact_commit), 0)::float8 as xact_commit,
       coalesce(sum(xact_rollback), 0)::float8 as xact_rollback,
       coalesce(sum(blks_read), 0)::float8 as blks_read,
       coalesce(sum(blks_hit), 0)::float8 as blks_hit,
       coalesce(sum(tup_returned), 0)::float8 as tup_returned,
       coalesce(sum(tup_fetched), 0)::float8 as tup_fetched,
       coalesce(sum(tup_inserted), 0)::float8 as tup_inserted,
       coalesce(sum(tup_updated), 0)::float8 as tup_updated,
       coalesce(sum(tup_deleted), 0)::float8 as tup_deleted,
       coalesce(sum(conflicts), 0)::float8 as conflicts,
       coalesce(sum(temp_files), 0)::float8 as temp_files,
       coalesce(sum(temp_bytes), 0)::float8 as temp_bytes,
       coalesce(sum(deadlocks), 0)::float8 as deadlocks,
       coalesce(sum(blk_read_time), 0)::float8 / 1000 as blk_read_seconds,
       coalesce(sum(blk_write_time), 0)::float8 / 1000 as blk_write_seconds,
       coalesce(sum(session_time), 0)::float8 / 1000 as session_seconds,
       coalesce(sum(active_time), 0)::float8 / 1000 as active_seconds,
       (select max(age(datfrozenxid)) from pg_database)::float8 as oldest_xid_age
from pg_stat_database
