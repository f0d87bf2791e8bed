-- On a writer: every downstream (readers and storage segments), lag split by stage.
select application_name,
       state,
       sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn)::float8 as sent_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::float8 as write_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::float8 as flush_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 as replay_bytes,
       coalesce(extract(epoch from write_lag), 0)::float8 as write_seconds,
       coalesce(extract(epoch from flush_lag), 0)::float8 as flush_seconds,
       coalesce(extract(epoch from replay_lag), 0)::float8 as replay_seconds
from pg_stat_replication
where not pg_is_in_recovery()
