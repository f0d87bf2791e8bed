-- Client connections by state (DatabaseConnections counts client backends), and sessions
-- whose commit waits for synchronous (quorum) replication: statement_timeout does not cover
-- that wait, so a stalled storage quorum is only visible from here. One pass over
-- pg_stat_activity (each one copies every backend's status).
select coalesce(state, 'unknown') as state,
       count(*) filter (where backend_type = 'client backend')::int as connections,
       count(*) filter (where wait_event = 'SyncRep')::int as sync_waiting,
       coalesce(extract(epoch from max(now() - state_change)
                                   filter (where wait_event = 'SyncRep')), 0)::float8
           as sync_longest_seconds
from pg_stat_activity
group by 1
