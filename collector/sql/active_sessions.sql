-- One Performance Insights sample, kept cheap for 100 ms sampling: straight from
-- pg_stat_get_activity (no joins), only what changes between samples. Who a session is
-- (user, database, host, type) and its statement text come from session_details.sql, once
-- per session and statement. Every active session but the collector's and manager's own,
-- and idle background processes (wait type Activity). Always at least one row: the server's
-- clock (epoch seconds), with a null pid when no session is active.
select s.pid,
       extract(epoch from s.backend_start)::float8 as backend_start,
       s.wait_event_type,
       s.wait_event,
       s.query_id,
       extract(epoch from coalesce(s.query_start, s.backend_start))::float8 as query_start,
       coalesce(s.application_name, '') as application_name,
       extract(epoch from c.now)::float8 as sampled_at
from (select clock_timestamp() as now) c
left join lateral (
    select *
    from pg_stat_get_activity(null) a
    where a.state = 'active'
      and a.pid <> pg_backend_pid()
      and coalesce(a.application_name, '') <> all({own_applications})
      and coalesce(a.wait_event_type, '') <> 'Activity'
) s on true
