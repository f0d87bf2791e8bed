-- Identity and role of the instance; runs first on every poll.
select pg_is_in_recovery() as in_recovery,
       extract(epoch from pg_postmaster_start_time())::float8 as start_time,
       current_setting('server_version_num')::int as version_num,
       case when pg_is_in_recovery() then null
            else pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 end as wal_lsn,
       case when pg_is_in_recovery() then (select received_tli from pg_stat_wal_receiver)
            else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
       end as timeline,
       current_setting('max_connections')::int as max_connections,
       current_setting('block_size')::int as block_size
