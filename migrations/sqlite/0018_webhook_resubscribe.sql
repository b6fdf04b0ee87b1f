-- A webhook URL may be subscribed more than once (each subscription its own secret and unsubscribe
-- link), so subscribing never tells a visitor whether someone else already subscribed that URL. An
-- email address stays subscribed once per page: its form answers the same either way already.
--
-- SQLite cannot drop a table's unique constraint, so the table is rebuilt. Migrations run inside a
-- transaction, where `foreign_keys` cannot be turned off, so dropping the old table deletes the
-- notifications that reference it (on delete cascade): they are set aside first and put back once the
-- new table carries the name their reference names.
create table subscribers_0018 (
    subscriber_id       text primary key,
    page_id             text not null references pages (page_id) on delete cascade,
    kind                text not null,
    target              text not null,
    confirmed           bigint not null,
    confirm_token_hash  text,
    unsubscribe_token   text not null unique,
    webhook_secret      text,
    created_at          bigint not null,
    updated_at          bigint not null
);
insert into subscribers_0018 (subscriber_id, page_id, kind, target, confirmed, confirm_token_hash,
    unsubscribe_token, webhook_secret, created_at, updated_at)
select subscriber_id, page_id, kind, target, confirmed, confirm_token_hash,
    unsubscribe_token, webhook_secret, created_at, updated_at
from subscribers;
create temp table notifications_0018 as select * from notifications;
drop table subscribers;
alter table subscribers_0018 rename to subscribers;
insert into notifications select * from notifications_0018;
drop table notifications_0018;
create unique index subscribers_email_once on subscribers (page_id, target) where kind = 'email';
create index subscribers_page on subscribers (page_id, kind, target);
