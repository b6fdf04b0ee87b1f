-- A webhook URL may be subscribed more than once (each subscription its own secret and unsubscribe
-- link), so subscribing never tells a visitor whether someone else already subscribed that URL. An
-- email address stays subscribed once per page: its form answers the same either way already.
alter table subscribers drop constraint if exists subscribers_page_id_kind_target_key;
create unique index subscribers_email_once on subscribers (page_id, target) where kind = 'email';
create index subscribers_page on subscribers (page_id, kind, target);
