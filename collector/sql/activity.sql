-- Client connections by state (DatabaseConnections counts client backends).
select coalesce(state, 'unknown') as state, count(*)::int as connections
from pg_stat_activity
where backend_type = 'client backend'
group by 1
