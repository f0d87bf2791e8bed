-- Statements of `borealis workload`, one per `-- name:` section. Tables are prefixed wl_ and
-- live in the application database, owned by borealis_app.

-- name: oltp_setup
create table if not exists wl_accounts (
    id integer primary key,
    balance bigint not null,
    filler text not null
);
create table if not exists wl_history (
    id bigserial primary key,
    account integer not null,
    delta integer not null,
    at timestamptz not null default clock_timestamp()
);
insert into wl_accounts (id, balance, filler)
select g, 10000, repeat('a', 80)
from generate_series(1, 10000) as g
on conflict (id) do nothing;

-- name: oltp_read
select balance from wl_accounts where id = %(a)s

-- name: oltp_debit
update wl_accounts set balance = balance - %(delta)s where id = %(a)s

-- name: oltp_credit
update wl_accounts set balance = balance + %(delta)s where id = %(b)s

-- name: oltp_history
insert into wl_history (account, delta) values (%(a)s, %(delta)s)

-- name: oltp_report
select count(*), sum(balance) from wl_accounts where id between %(a)s and %(a)s + 500

-- name: oltp_trim
delete from wl_history where id < (select max(id) - 10000 from wl_history)

-- name: cpu
select sum(sqrt(g::float8)) from generate_series(1, 300000) as g

-- name: row_lock_setup
create table if not exists wl_hot (id integer primary key, n bigint not null);
insert into wl_hot (id, n) values (1, 0), (2, 0) on conflict (id) do nothing;

-- name: row_lock_update
update wl_hot set n = n + 1 where id = %(a)s

-- name: row_lock_hold
select pg_sleep(0.05)

-- name: io_setup
create unlogged table if not exists wl_io (id integer primary key, pad text not null)
with (fillfactor = 10);

-- name: io_rows_wanted
-- Five times shared_buffers of heap pages, about six rows a page at fillfactor 10.
select (5 * setting::bigint * 6)::int from pg_settings where name = 'shared_buffers'

-- name: io_fill
insert into wl_io (id, pad)
select g, repeat('x', 100) from generate_series(1, %(rows)s) as g
on conflict (id) do nothing

-- name: io_has_rows
select exists (select 1 from wl_io where id = %(rows)s)

-- name: io_point
select length(pad) from wl_io where id = %(a)s

-- name: io_range
select count(*) from wl_io where id between %(a)s and %(a)s + 200

-- name: sleep
select pg_sleep(0.1)

-- name: commit_setup
create table if not exists wl_commits (
    id bigserial primary key,
    v integer not null,
    at timestamptz not null default clock_timestamp()
);

-- name: commit_insert
insert into wl_commits (v) values (%(a)s)

-- name: commit_trim
delete from wl_commits where id < (select max(id) - 100000 from wl_commits)
