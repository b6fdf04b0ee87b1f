-- Foundation: organisations, users, memberships, pages, components, incidents, maintenances, audit log,
-- web sessions and login throttling. Instants are BIGINT unix milliseconds; flags are BIGINT 0/1.

create table orgs (
    org_id      text primary key,
    slug        text not null unique,
    name        text not null,
    created_at  bigint not null,
    updated_at  bigint not null
);

create table users (
    user_id        text primary key,
    email          text not null unique,
    password_hash  text not null,
    created_at     bigint not null,
    updated_at     bigint not null
);

create table memberships (
    org_id      text not null references orgs (org_id) on delete cascade,
    user_id     text not null references users (user_id) on delete cascade,
    role        text not null,
    created_at  bigint not null,
    updated_at  bigint not null,
    primary key (org_id, user_id)
);
create index memberships_user on memberships (user_id);

create table pages (
    page_id      text primary key,
    org_id       text not null references orgs (org_id) on delete cascade,
    slug         text not null,
    public_slug  text not null unique,
    name         text not null,
    description  text not null default '',
    created_at   bigint not null,
    updated_at   bigint not null,
    unique (org_id, slug)
);

create table components (
    component_id  text primary key,
    page_id       text not null references pages (page_id) on delete cascade,
    parent_id     text references components (component_id) on delete cascade,
    kind          text not null,
    name          text not null,
    description   text not null default '',
    status        text not null,
    position      bigint not null,
    created_at    bigint not null,
    updated_at    bigint not null
);
create index components_page on components (page_id, position);

create table incidents (
    incident_id  text primary key,
    page_id      text not null references pages (page_id) on delete cascade,
    title        text not null,
    stage        text not null,
    created_by   text,
    started_at   bigint not null,
    resolved_at  bigint,
    created_at   bigint not null,
    updated_at   bigint not null
);
create index incidents_page on incidents (page_id, resolved_at, started_at);

create table incident_updates (
    update_id    text primary key,
    incident_id  text not null references incidents (incident_id) on delete cascade,
    stage        text not null,
    message      text not null,
    notify       bigint not null,
    created_by   text,
    created_at   bigint not null,
    updated_at   bigint not null
);
create index incident_updates_incident on incident_updates (incident_id, created_at);

create table incident_update_components (
    update_id     text not null references incident_updates (update_id) on delete cascade,
    component_id  text not null references components (component_id) on delete cascade,
    status        text not null,
    primary key (update_id, component_id)
);

create table maintenances (
    maintenance_id  text primary key,
    page_id         text not null references pages (page_id) on delete cascade,
    title           text not null,
    state           text not null,
    starts_at       bigint not null,
    ends_at         bigint not null,
    created_by      text,
    created_at      bigint not null,
    updated_at      bigint not null
);
create index maintenances_page on maintenances (page_id, state, starts_at);

create table maintenance_components (
    maintenance_id  text not null references maintenances (maintenance_id) on delete cascade,
    component_id    text not null references components (component_id) on delete cascade,
    primary key (maintenance_id, component_id)
);

create table maintenance_updates (
    update_id       text primary key,
    maintenance_id  text not null references maintenances (maintenance_id) on delete cascade,
    state           text not null,
    message         text not null,
    notify          bigint not null,
    created_by      text,
    created_at      bigint not null,
    updated_at      bigint not null
);
create index maintenance_updates_maintenance on maintenance_updates (maintenance_id, created_at);

-- Who did what. actor_type is user, api_key, mcp or system; user_id is the acting person, if any.
create table audit_log (
    audit_id     text primary key,
    org_id       text not null,
    actor_type   text not null,
    actor_id     text not null,
    user_id      text,
    action       text not null,
    target_type  text not null,
    target_id    text not null,
    detail       text not null default '{}',
    created_at   bigint not null,
    updated_at   bigint not null
);
create index audit_log_org on audit_log (org_id, created_at);

-- Web sessions live here, not in process memory, so any instance serves any browser.
create table sessions (
    session_id  text primary key,
    data        text not null,
    expires_at  bigint not null,
    created_at  bigint not null,
    updated_at  bigint not null
);
create index sessions_expiry on sessions (expires_at);

-- One row per failed sign-in; counted over a sliding window, shared by every instance.
create table login_failures (
    failure_id  text primary key,
    login_key   text not null,
    created_at  bigint not null,
    updated_at  bigint not null
);
create index login_failures_key on login_failures (login_key, created_at);
