-- Confirmations a person gave (or refused) before subscribers were notified from Hosted MCP. The
-- confirmation itself travels sealed in the client's `requestState`; only its id is kept here, once
-- used, so a replay on any instance finds it taken. Rows go once the state would have expired anyway.
create table used_confirmations (
    confirmation_id text primary key,
    expires_at      bigint not null
);
create index used_confirmations_expiry on used_confirmations (expires_at);
