-- Which kinds of client an organisation accepts on its consent page, and its own list of private-use
-- redirect URIs (null: the deployment's `[oauth] private_use_redirect_uris`).
alter table hosted_mcp_settings add column allow_dynamic bigint not null default 1;
alter table hosted_mcp_settings add column allow_documents bigint not null default 1;
alter table hosted_mcp_settings add column private_use_redirects text;
