-- Where the instance runs: the collector finds its postmaster in /proc when it runs on this
-- host (the backend's parent, started at this time). pg_settings hides data_directory from
-- roles without pg_read_all_settings (pg_monitor has it): then it is null.
select extract(epoch from pg_postmaster_start_time())::float8 as start_time,
       (select setting from pg_settings where name = 'data_directory') as data_directory
