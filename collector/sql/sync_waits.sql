-- Sessions whose commit waits for synchronous (quorum) replication. statement_timeout does
-- not cover this wait, so a stalled storage quorum is only visible from here.
select count(*)::int as waiting,
       coalesce(extract(epoch from max(now() - state_change)), 0)::float8 as longest_seconds
from pg_stat_activity
where wait_event = 'SyncRep'
