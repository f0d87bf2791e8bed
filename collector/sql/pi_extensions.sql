-- Where the optional extensions live (the collector composes their schema as an identifier).
select extname, extnamespace::regnamespace::text as schema
from pg_extension
where extname in ('pg_wait_sampling', 'pg_stat_statements')
