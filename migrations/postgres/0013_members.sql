-- Invitations to join an organisation: the link's token is kept only as its SHA-256 hash, valid until
-- expires_at, used once (accepted_at) or withdrawn (revoked_at).
create table invitations (
    invitation_id  text primary key,
    org_id         text not null references orgs (org_id) on delete cascade,
    email          text not null,
    role           text not null,
    token_hash     text not null unique,
    invited_by     text not null,
    created_at     bigint not null,
    expires_at     bigint not null,
    accepted_at    bigint,
    revoked_at     bigint,
    updated_at     bigint not null
);
create index invitations_org on invitations (org_id);

-- Whose session each row is, so a password change can end that person's other sessions without
-- reading every session's data.
alter table sessions add column user_id text;
update sessions set user_id = (data::jsonb) ->> 'user_id';
create index sessions_user on sessions (user_id);
