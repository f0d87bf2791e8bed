-- pg_stat_bgwriter as JSON: its columns changed in PG 17 (checkpoints moved out), the
-- collector maps both spellings.
select to_jsonb(b) as stats from pg_stat_bgwriter b
