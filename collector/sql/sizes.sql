-- On-disk sizes: every database (template0 included) and the WAL directory. pg_database_size
-- of a database one cannot connect to needs pg_read_all_stats (part of pg_monitor), and so
-- does pg_ls_waldir. Sizes cost a stat() per file, so this runs every 15 s, not every poll.
select (select coalesce(sum(pg_database_size(oid)), 0) from pg_database)::float8
           as databases_bytes,
       w.bytes as wal_bytes,
       w.files as wal_files
from (select coalesce(sum(size), 0)::float8 as bytes, count(*)::int as files
      from pg_ls_waldir()) w
