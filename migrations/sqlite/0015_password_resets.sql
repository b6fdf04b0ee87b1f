-- "Forgot your password?" links: only the SHA-256 of a link's token is kept, valid until expires_at
-- (an hour after it was sent) and used once (used_at). A successful reset, or an operator's
-- `statusgate user set-password`, deletes every row of that person, so older links die with it.
-- created_at also counts the links sent to one person in the last hour (the per-email limit).
create table password_resets (
    token_hash  text primary key,
    user_id     text not null references users (user_id) on delete cascade,
    created_at  bigint not null,
    expires_at  bigint not null,
    used_at     bigint
);
create index password_resets_user on password_resets (user_id, created_at);
create index password_resets_expiry on password_resets (expires_at);
