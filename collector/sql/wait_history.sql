-- pg_wait_sampling's history (one row per waiting process every 10 ms) since the last read:
-- the rows of the sessions we saw active, plus every distinct tick (pid null), so that a
-- tick without a row for a session counts as CPU (pg_wait_sampling 1.1 does not sample CPU).
with h as materialized (
    select pid, ts, event_type, event
    from {schema}.pg_wait_sampling_history
    where ts > to_timestamp(%(since)s)
)
select pid, extract(epoch from ts)::float8 as ts, event_type, event
from h
where pid = any(%(pids)s)
union all
select null, extract(epoch from ts)::float8, null, null
from h
group by ts
