-- Sign-in attempts per (email, client address): one row per pair, counted atomically *before* the
-- password is checked, so parallel guesses cannot all slip under the limit; a successful sign-in
-- deletes its row. The window opens at the first attempt. Replaces the per-failure rows keyed on the
-- email alone, which let anyone lock an owner out.
create table login_attempts (
    login_key    text primary key,
    attempts     bigint not null,
    window_start bigint not null,
    updated_at   bigint not null
);
create index login_attempts_window on login_attempts (window_start);

drop table login_failures;
