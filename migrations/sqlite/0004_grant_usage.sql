-- Calls per connection per UTC day, so the console can show use over the last 30 days. Written in
-- batches by each instance (counts add up), never once per request.
create table grant_usage (
    grant_id    text not null references oauth_grants (grant_id) on delete cascade,
    day         bigint not null,
    calls       bigint not null,
    created_at  bigint not null,
    updated_at  bigint not null,
    primary key (grant_id, day)
);
