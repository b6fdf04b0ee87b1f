-- Drafts: an incident or maintenance saved unpublished (draft = 1) is not public, changes no component
-- status and notifies nobody until a person publishes it. drafted_via names what saved it: the
-- assistant's client name, "API key", or "web".

alter table incidents add column draft bigint not null default 0;
alter table incidents add column drafted_via text;

alter table maintenances add column draft bigint not null default 0;
alter table maintenances add column drafted_via text;
