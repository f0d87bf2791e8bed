-- Replication slots and the synchronous-standby rule of an instance. A slot holds back the
-- WAL from its restart_lsn on (ReplicationSlotDiskUsage, OldestReplicationSlotLag); on a
-- reader that is measured from the WAL it has received.
with pos as (
    select case when pg_is_in_recovery()
                then coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                else pg_current_wal_lsn() end as lsn
)
select count(*) filter (where s.active)::int as slots_active,
       count(*) filter (where not s.active)::int as slots_inactive,
       coalesce(max(greatest(0, pg_wal_lsn_diff(pos.lsn, s.restart_lsn))), 0)::float8
           as slot_retained_bytes,
       current_setting('synchronous_standby_names') as synchronous_standby_names
from pos
left join pg_replication_slots s on true
