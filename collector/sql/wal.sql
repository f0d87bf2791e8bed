-- min_version: 140000
select wal_records::float8, wal_fpi::float8, wal_bytes::float8, wal_buffers_full::float8,
       wal_write::float8, wal_sync::float8,
       wal_write_time::float8 / 1000 as wal_write_seconds,
       wal_sync_time::float8 / 1000 as wal_sync_seconds
from pg_stat_wal
