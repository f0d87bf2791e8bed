-- One Performance Insights sample: every active session but the collector's and manager's
-- own, and idle background processes (wait type Activity). Always at least one row: the
-- server's clock (epoch seconds, to line up with pg_wait_sampling's history), with a null
-- pid when no session is active.
select s.*, extract(epoch from c.now)::float8 as sampled_at
from (select clock_timestamp() as now) c
left join lateral (
    select pid,
           coalesce(usename, '') as usename,
           coalesce(usesysid, 0)::int8 as usesysid,
           coalesce(datname, '') as datname,
           coalesce(application_name, '') as application_name,
           coalesce(host(client_addr), client_hostname, 'local') as client_host,
           backend_type,
           wait_event_type,
           wait_event,
           query_id,
           left(query, 4096) as query,
           extract(epoch from coalesce(query_start, backend_start))::float8 as query_start
    from pg_stat_activity
    where state = 'active'
      and pid <> pg_backend_pid()
      and coalesce(application_name, '') <> all(%(own_applications)s)
      and coalesce(wait_event_type, '') <> 'Activity'
) s on true
