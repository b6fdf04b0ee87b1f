-- Enterprise-managed sign-in (ID-JAG, RFC 7523 jwt-bearer): the identity providers an organisation
-- trusts, with the role cap their sign-ins get, and the assertion ids already redeemed. The latter is
-- shared by every instance, so an assertion is accepted once however many instances serve; rows go once
-- the assertion has expired (retention).
create table trusted_issuers (
    org_id      text not null references orgs (org_id) on delete cascade,
    issuer      text not null,
    jwks_uri    text not null,
    role_cap    text not null,
    created_at  bigint not null,
    primary key (org_id, issuer)
);
create index trusted_issuers_by_issuer on trusted_issuers (issuer);

create table used_assertions (
    issuer      text not null,
    jti         text not null,
    expires_at  bigint not null,
    primary key (issuer, jti)
);
create index used_assertions_by_expiry on used_assertions (expires_at);
