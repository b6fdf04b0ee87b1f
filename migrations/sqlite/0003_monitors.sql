-- Monitors ("beats"): synthetic HTTP checks, their events, proposed actions awaiting a person, status-page
-- subscribers, the notification outbox and anonymous page-view counts. Instants are BIGINT unix ms.

create table monitor_groups (
    group_id    text primary key,
    page_id     text not null references pages (page_id) on delete cascade,
    name        text not null,
    created_at  bigint not null,
    updated_at  bigint not null,
    unique (page_id, name)
);

-- next_run_at is the compare-and-set key: an instance claims a due run by moving it forward, so each
-- interval runs once however many instances share the database.
create table monitors (
    monitor_id            text primary key,
    page_id               text not null references pages (page_id) on delete cascade,
    group_id              text references monitor_groups (group_id) on delete set null,
    component_id          text references components (component_id) on delete set null,
    name                  text not null,
    method                text not null,
    url                   text not null,
    expect_min            bigint not null,
    expect_max            bigint not null,
    body_contains         text,
    timeout_ms            bigint not null,
    interval_secs         bigint not null,
    enabled               bigint not null,
    next_run_at           bigint not null,
    consecutive_failures  bigint not null default 0,
    last_ok               bigint,
    created_at            bigint not null,
    updated_at            bigint not null
);
create index monitors_due on monitors (enabled, next_run_at);
create index monitors_page on monitors (page_id);

create table monitor_events (
    event_id     text primary key,
    monitor_id   text not null references monitors (monitor_id) on delete cascade,
    checked_at   bigint not null,
    ok           bigint not null,
    latency_ms   bigint not null,
    status_code  bigint,
    error        text,
    trigger      text not null,
    created_at   bigint not null,
    updated_at   bigint not null
);
create index monitor_events_monitor on monitor_events (monitor_id, checked_at);
create index monitor_events_time on monitor_events (checked_at);

create table pending_actions (
    action_id      text primary key,
    page_id        text not null references pages (page_id) on delete cascade,
    monitor_id     text references monitors (monitor_id) on delete set null,
    component_id   text references components (component_id) on delete cascade,
    kind           text not null,
    status         text,
    reason         text not null,
    state          text not null,
    decided_by     text,
    decided_at     bigint,
    decision_note  text,
    created_at     bigint not null,
    updated_at     bigint not null
);
create index pending_actions_page on pending_actions (page_id, state, created_at);

-- The unsubscribe token is kept readable: every message must carry it, and it can only unsubscribe.
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
    updated_at          bigint not null,
    unique (page_id, kind, target)
);

-- The outbox. notification_id doubles as the idempotency key receivers see; lease_until is the
-- compare-and-set claim a delivery worker takes before sending.
create table notifications (
    notification_id  text primary key,
    page_id          text not null references pages (page_id) on delete cascade,
    subscriber_id    text not null references subscribers (subscriber_id) on delete cascade,
    source_id        text not null,
    payload          text not null,
    state            text not null,
    attempts         bigint not null,
    next_attempt_at  bigint not null,
    lease_until      bigint not null,
    last_error       text,
    delivered_at     bigint,
    created_at       bigint not null,
    updated_at       bigint not null,
    unique (subscriber_id, source_id)
);
create index notifications_due on notifications (state, next_attempt_at);
create index notifications_page on notifications (page_id, created_at);

-- Views per page per UTC day; nothing about the visitor is kept.
create table page_views (
    page_id     text not null references pages (page_id) on delete cascade,
    day         bigint not null,
    views       bigint not null,
    created_at  bigint not null,
    updated_at  bigint not null,
    primary key (page_id, day)
);
