-- One row for every instance: its replication slots, its synchronous-standby rule and, on a
-- reader, what it received and replayed.
-- Slots: each holds back the WAL from its restart_lsn on (ReplicationSlotDiskUsage,
-- OldestReplicationSlotLag); on a reader that is measured from the WAL it has received.
-- Receiver: the time lag is 0 when nothing is pending, else the age of the last replayed
-- commit (clamped at 0: clocks of one host may disagree by a few ms); transit_seconds is how
-- long the last message from the writer was under way.
with pos as (
    select pg_is_in_recovery() as in_recovery,
           case when pg_is_in_recovery()
                then coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                else pg_current_wal_lsn() end as lsn
),
slots as (
    select count(*) filter (where s.active)::int as slots_active,
           count(*) filter (where not s.active)::int as slots_inactive,
           coalesce(max(greatest(0, pg_wal_lsn_diff(pos.lsn, s.restart_lsn))), 0)::float8
               as slot_retained_bytes
    from pos
    left join pg_replication_slots s on true
)
select slots.*,
       current_setting('synchronous_standby_names') as synchronous_standby_names,
       pos.in_recovery,
       case when pos.in_recovery then
           pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8
       end as apply_bytes,
       case when not pos.in_recovery then null
            when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
            else greatest(0, extract(epoch from now() - pg_last_xact_replay_timestamp()))
       end::float8 as apply_seconds,
       r.status as receiver_status,
       case when pos.in_recovery then pg_is_wal_replay_paused() end as replay_paused,
       case when pos.in_recovery then
           pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::float8
       end as replay_lsn,
       greatest(0, extract(epoch from r.last_msg_receipt_time - r.last_msg_send_time))::float8
           as transit_seconds
from pos
cross join slots
left join pg_stat_wal_receiver r on true
