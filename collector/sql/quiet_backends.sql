-- Backends whose processes the collector need not re-read in /proc: idle since before
-- %(since)s (the server time this query returned last time; null the first time: none).
-- Auxiliary processes have no state and are never quiet.
select clock_timestamp() as now,
       coalesce(array_agg(pid) filter (where state = 'idle' and state_change < %(since)s),
                '{}') as quiet
from pg_stat_activity
