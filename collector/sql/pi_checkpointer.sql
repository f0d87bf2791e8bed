-- min_version: 170000
-- PG 17+: checkpoint counters live in pg_stat_checkpointer.
select to_jsonb(c) as stats from pg_stat_checkpointer c
