-- On a reader: what it received and replayed. The time lag is 0 when nothing is pending,
-- else the age of the last replayed commit (clamped at 0: clocks of one host may disagree
-- by a few ms). transit_seconds: how long the last message from the writer was under way.
select pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8
           as apply_bytes,
       case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
            else greatest(0, extract(epoch from now() - pg_last_xact_replay_timestamp()))
       end::float8 as apply_seconds,
       r.status as receiver_status,
       pg_is_wal_replay_paused() as replay_paused,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::float8 as replay_lsn,
       greatest(0, extract(epoch from r.last_msg_receipt_time - r.last_msg_send_time))::float8
           as transit_seconds
from (select 1) one
left join pg_stat_wal_receiver r on true
where pg_is_in_recovery()
