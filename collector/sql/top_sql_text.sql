-- min_version: 130000
-- The normalised text ($1 placeholders) of query ids not seen before.
select distinct on (queryid) queryid, left(query, 4096) as query
from {schema}.pg_stat_statements(true)
where queryid = any(%(ids)s)
