-- A page's own settings: whether the public sees it, the time zone its public times are shown in, and
-- its branding (an https logo, an accent colour as #rrggbb, a link to the company's site or support).
alter table pages add column published bigint not null default 1;
alter table pages add column time_zone text not null default 'UTC';
alter table pages add column logo_url text not null default '';
alter table pages add column accent_color text not null default '';
alter table pages add column support_url text not null default '';
