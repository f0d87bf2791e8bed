-- On a writer: its synchronous replication setting and the standbys streaming right now
-- (their application_name is what synchronous_standby_names lists). Readers return no row.
select current_setting('synchronous_standby_names') as names,
       coalesce(
           (select array_agg(application_name order by application_name)
            from pg_stat_replication
            where state = 'streaming'),
           '{}'
       ) as streaming
where not pg_is_in_recovery()
