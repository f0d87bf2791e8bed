-- One Performance Insights sample: every active session but the collector's and manager's
-- own, and idle background processes (wait type Activity).
select pid,
       coalesce(usename, '') as usename,
       coalesce(datname, '') as datname,
       coalesce(application_name, '') as application_name,
       coalesce(host(client_addr), client_hostname, 'local') as client_host,
       backend_type,
       wait_event_type,
       wait_event,
       query_id,
       query
from pg_stat_activity
where state = 'active'
  and pid <> pg_backend_pid()
  and coalesce(application_name, '') <> all(%(own_applications)s)
  and coalesce(wait_event_type, '') <> 'Activity'
