-- The organisation whose administrator registered a client (kind 'admin'). Only that organisation
-- treats the client as trusted; everywhere else it is handled as self-registered. Null for other kinds,
-- and for admin clients whose registering organisation is unknown or deleted: those are treated as
-- self-registered everywhere.
alter table oauth_clients add column owner_org_id text references orgs (org_id) on delete set null;
-- Existing admin clients: the organisation named in their registration audit row, if it still exists.
update oauth_clients set owner_org_id = (
    select a.org_id from audit_log a
    where a.action = 'oauth.client_registered' and a.target_type = 'oauth_client'
      and a.target_id = oauth_clients.client_id
      and exists (select 1 from orgs o where o.org_id = a.org_id)
    order by a.created_at limit 1)
where kind = 'admin';
