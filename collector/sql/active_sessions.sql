-- Performance Insights samples, several per round trip: the server takes `samples` samples of
-- its active sessions, the first at once and then one every `period` seconds from the start
-- of the statement (sleeping in between), and returns them together. Python and the network
-- are paid once a second instead of once a sample, which is what makes 100 ms sampling cheap
-- without a C extension. With one sample per round trip (1 s sampling) nothing sleeps, so no
-- snapshot is held between samples; with several, the statement holds one for up to a second
-- (see README: a hot standby may wait that long to replay cleanup in this database).
--
-- Order is forced by data, not by the planner: each tick's expression sleeps, then clears the
-- statistics snapshot (pg_stat_get_activity would otherwise return the same copy all
-- transaction), then reads the clock; that time is a parameter of the activity scan, so the
-- scan is redone for every tick (function arguments are evaluated left to right).
--
-- `samples` and `period` are literals, not parameters: with parameters the planner would plan
-- every execution anew (a custom plan for generate_series(1, $1) always looks cheaper).
-- Role and database come as oids (the collector keeps their names): joining pg_roles and
-- pg_database would build two hash tables per execution.
--
-- Every active session but the collector's and manager's own and idle background processes
-- (wait type Activity). Each tick has at least one row (a null pid when nothing is active).
-- The statement text comes only with a statement's first row in the batch: the collector
-- needs it once, to build the digest (or when collector.sql_literals is on).
select g.n,
       t.sampled_at,
       s.pid,
       extract(epoch from s.backend_start)::float8 as backend_start,
       s.wait_event_type,
       s.wait_event,
       {query_id} as query_id,
       extract(epoch from coalesce(s.query_start, s.backend_start))::float8 as query_start,
       coalesce(s.application_name, '') as application_name,
       coalesce(s.usesysid, 0)::int8 as usesysid,
       coalesce(s.datid, 0)::int8 as datid,
       coalesce(host(s.client_addr), s.client_hostname, 'local') as client_host,
       coalesce(s.backend_type, '') as backend_type,
       case when row_number() over (partition by s.pid, s.query_start order by g.n) = 1
            then left(s.query, 4096) end as query
from generate_series(1, {samples}) as g(n)
cross join lateral (
    select (pg_sleep(greatest(0, extract(epoch from statement_timestamp()
                                               + (g.n - 1) * make_interval(secs => {period})
                                               - clock_timestamp()))::float8)::text
            || pg_stat_clear_snapshot()::text
            || extract(epoch from clock_timestamp())::text)::float8 as sampled_at
) as t
left join lateral (
    select *
    from pg_stat_get_activity(case when t.sampled_at > 0 then null::int end) as a
    where a.state = 'active'
      and a.pid <> pg_backend_pid()
      and coalesce(a.application_name, '') <> all({own_applications})
      and coalesce(a.wait_event_type, '') <> 'Activity'
) as s on true
order by g.n
