-- Who the sessions of a sample are, and what they run (the statement may hold literals: the
-- collector keeps it only to build the digest, or when collector.sql_literals is on).
select pid,
       extract(epoch from backend_start)::float8 as backend_start,
       coalesce(usename, '') as usename,
       coalesce(usesysid, 0)::int8 as usesysid,
       coalesce(datname, '') as datname,
       coalesce(host(client_addr), client_hostname, 'local') as client_host,
       coalesce(backend_type, '') as backend_type,
       query_id,
       extract(epoch from coalesce(query_start, backend_start))::float8 as query_start,
       left(query, 4096) as query
from pg_stat_activity
where pid = any(%(pids)s)
