-- pg_wait_sampling's profile: how many 10 ms ticks each process spent in each wait since the
-- profile was reset (cumulative; the collector takes deltas between reads). Reading it is
-- cheap (its size, not its ring), unlike pg_wait_sampling_history (5000 rows every time).
select pid, event_type, event, sum(count)::int8 as ticks,
       extract(epoch from clock_timestamp())::float8 as read_at
from {schema}.pg_wait_sampling_profile
group by pid, event_type, event
