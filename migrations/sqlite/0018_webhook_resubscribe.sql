-- A webhook URL may be subscribed more than once (each subscription its own secret and unsubscribe
-- link), so subscribing never tells a visitor whether someone else already subscribed that URL. An
-- email address stays subscribed once per page: its form answers the same either way already.
--
-- SQLite cannot drop a table's unique constraint, so the table is rebuilt. The migration runs inside
-- a transaction, where `foreign_keys` cannot be turned off; with `legacy_alter_table` the rename
-- leaves the notifications' reference naming `subscribers`, so it points at the new table and
-- dropping the old one cascades to nothing.
pragma legacy_alter_table = on;
alter table subscribers rename to subscribers_before_0018;
create table subscribers (
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
insert into subscribers (subscriber_id, page_id, kind, target, confirmed, confirm_token_hash,
    unsubscribe_token, webhook_secret, created_at, updated_at)
select subscriber_id, page_id, kind, target, confirmed, confirm_token_hash,
    unsubscribe_token, webhook_secret, created_at, updated_at
from subscribers_before_0018;
drop table subscribers_before_0018;
pragma legacy_alter_table = off;
create unique index subscribers_email_once on subscribers (page_id, target) where kind = 'email';
create index subscribers_page on subscribers (page_id, kind, target);
