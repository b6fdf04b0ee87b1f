-- Hosted MCP authorization server: clients, signing keys, codes, grants, refresh tokens, API keys and the
-- per-organisation connector settings. Secrets are stored as SHA-256 hex only; instants are unix ms.

-- A client registered through RFC 7591, pinned from a metadata document (CIMD) or added by an admin.
-- client_id is our generated id or, for CIMD clients, the document URL itself.
create table oauth_clients (
    client_id       text primary key,
    kind            text not null,
    client_name     text not null,
    client_uri      text,
    logo_uri        text,
    redirect_uris   text not null,
    auth_method     text not null,
    secret_hash     text,
    -- Hash of the effective metadata, so identical re-registrations are shown as one client.
    fingerprint     text not null,
    metadata        text not null,
    consented_at    bigint,
    disabled        bigint not null default 0,
    created_at      bigint not null,
    updated_at      bigint not null
);
create index oauth_clients_reap on oauth_clients (kind, consented_at, created_at);
create index oauth_clients_fingerprint on oauth_clients (fingerprint, created_at);

-- HS256 keys shared by every instance. The newest signs; older ones verify until retire_at.
create table oauth_keys (
    kid         text primary key,
    purpose     text not null,
    secret      text not null,
    retire_at   bigint,
    created_at  bigint not null,
    updated_at  bigint not null
);

-- One user's approval of one client for one organisation.
create table oauth_grants (
    grant_id      text primary key,
    org_id        text not null references orgs (org_id) on delete cascade,
    user_id       text not null references users (user_id) on delete cascade,
    client_id     text not null references oauth_clients (client_id) on delete cascade,
    scopes        text not null,
    tools         text not null,
    resource      text not null,
    last_used_at  bigint,
    revoked_at    bigint,
    revoked_by    text,
    created_at    bigint not null,
    updated_at    bigint not null
);
create index oauth_grants_user on oauth_grants (user_id, client_id);
create index oauth_grants_client on oauth_grants (client_id);
create index oauth_grants_org on oauth_grants (org_id, created_at);

create table oauth_codes (
    code_hash       text primary key,
    grant_id        text not null references oauth_grants (grant_id) on delete cascade,
    client_id       text not null,
    redirect_uri    text not null,
    code_challenge  text not null,
    expires_at      bigint not null,
    used_at         bigint,
    created_at      bigint not null,
    updated_at      bigint not null
);

-- Rotated on every use. superseded_at is set once, by a compare-and-set update; successor_hash names the
-- token that replaced this one, for the idempotent-retry window.
create table oauth_refresh_tokens (
    token_hash      text primary key,
    grant_id        text not null references oauth_grants (grant_id) on delete cascade,
    client_id       text not null,
    scopes          text not null,
    expires_at      bigint not null,
    superseded_at   bigint,
    successor_hash  text,
    created_at      bigint not null,
    updated_at      bigint not null
);
create index oauth_refresh_tokens_grant on oauth_refresh_tokens (grant_id);

-- API keys: ordinary keys (kind 'api') and the one connector key per grant (kind 'connector').
create table api_keys (
    key_id        text primary key,
    org_id        text not null references orgs (org_id) on delete cascade,
    user_id       text not null references users (user_id) on delete cascade,
    name          text not null,
    prefix        text not null,
    secret_hash   text not null unique,
    can_write     bigint not null,
    page_id       text references pages (page_id) on delete cascade,
    kind          text not null,
    grant_id      text references oauth_grants (grant_id) on delete cascade,
    expires_at    bigint,
    last_used_at  bigint,
    revoked_at    bigint,
    created_at    bigint not null,
    updated_at    bigint not null
);
create index api_keys_org on api_keys (org_id, created_at);
create unique index api_keys_grant on api_keys (grant_id);

-- Hosted MCP settings of one organisation; an absent row means the defaults (on, read-only).
create table hosted_mcp_settings (
    org_id       text primary key references orgs (org_id) on delete cascade,
    enabled      bigint not null,
    allow_write  bigint not null,
    created_at   bigint not null,
    updated_at   bigint not null
);
