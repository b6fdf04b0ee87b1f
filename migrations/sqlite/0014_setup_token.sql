-- The one-time first-run link: only the SHA-256 of its token, in a single row (slot 1). Each start
-- while no user exists replaces it, so only the latest printed link works; completing set-up deletes
-- it in the same transaction that creates the organisation and its owner.
create table setup_tokens (
    slot        bigint primary key check (slot = 1),
    token_hash  text not null,
    created_at  bigint not null
);
