//! The public status page: readable without JavaScript, on a phone and a desktop.

use std::collections::HashMap;

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::public_brand::Brand;
use super::public_cache::{Built, Key, PublicRequest};
use super::{PublicError, WebError};
use crate::clock::rfc3339;
use crate::config::Config;
use crate::domain::{Component, ComponentStatus, Incident, IncidentUpdate, Page};
use crate::ids::ComponentId;
use crate::service::analytics::DayBar;
use crate::service::public_pages::{PublicPage, HISTORY_DAYS};
use crate::service::Services;

pub struct ComponentView {
    pub name: String,
    /// Shown behind a `<details>` disclosure when set.
    pub description: String,
    pub status_class: &'static str,
    pub status_label: &'static str,
    pub children: Vec<ComponentView>,
    /// 90 daily bars when a monitor watches the component; empty otherwise.
    pub bars: Vec<BarView>,
    pub uptime: String,
}

/// One day of an uptime bar, drawn as an SVG rect.
pub struct BarView {
    pub x: usize,
    pub fill: &'static str,
    pub title: String,
}

/// Colours by the day's share of passing checks; grey when nothing was checked.
fn bar_fill(p: Option<f64>) -> &'static str {
    match p {
        None => "#d0d4da",
        Some(p) if p >= 99.0 => "#2e9d5b",
        Some(p) if p >= 95.0 => "#e0a100",
        Some(_) => "#d64545",
    }
}

fn bars_view(bars: Option<&Vec<DayBar>>) -> (Vec<BarView>, String) {
    let Some(bars) = bars else {
        return (Vec::new(), String::new());
    };
    let view = bars
        .iter()
        .enumerate()
        .map(|(i, b)| BarView {
            x: i * 4,
            fill: bar_fill(b.uptime_percent),
            title: {
                let day = human_time(b.day);
                let day = day.get(..10).unwrap_or_default();
                match b.uptime_percent {
                    Some(p) => format!("{day}: {p:.2}% up"),
                    None => format!("{day}: no data"),
                }
            },
        })
        .collect();
    let known: Vec<f64> = bars.iter().filter_map(|b| b.uptime_percent).collect();
    let uptime = if known.is_empty() {
        String::new()
    } else {
        format!(
            "{:.2}% uptime",
            known.iter().sum::<f64>() / known.len() as f64
        )
    };
    (view, uptime)
}

pub struct UpdateView {
    pub stage: &'static str,
    pub message: String,
    pub at: Stamp,
    /// The components this update set, with the status it gave each.
    pub affected: Vec<AffectedView>,
}

/// A component an incident touched and the status it had, in the component status names.
pub struct AffectedView {
    pub name: String,
    pub status_class: &'static str,
    pub status_label: &'static str,
}

/// An instant as the page shows it (in the page's time zone) and as a machine reads it (`datetime`).
pub struct Stamp {
    pub shown: String,
    pub iso: String,
}

pub struct IncidentView {
    pub title: String,
    pub link: String,
    pub stage: &'static str,
    pub started: Stamp,
    pub resolved: Option<Stamp>,
    /// Every component any shown update named, with the latest status stated for it.
    pub affected: Vec<AffectedView>,
    pub updates: Vec<UpdateView>,
}

pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub starts: Stamp,
    pub ends: Stamp,
    /// The latest message posted about it.
    pub message: String,
    /// The names of the components it covers.
    pub components: Vec<String>,
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    brand: Brand,
    name: String,
    description: String,
    overall_class: &'static str,
    overall_label: &'static str,
    components: Vec<ComponentView>,
    active: Vec<IncidentView>,
    more_active: Vec<(String, String)>,
    maintenances: Vec<MaintenanceView>,
    history: Vec<IncidentView>,
    history_days: i64,
    slug: String,
    support_url: String,
}

pub fn status_class(s: ComponentStatus) -> &'static str {
    s.as_str()
}

/// "2026-11-22 14:05 UTC": unambiguous without JavaScript to localise it.
pub fn human_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_else(|_| rfc3339(t))
}

/// "2026-11-22 15:05 CET" in the page's time zone (UTC when the zone is unknown), for visitors of a
/// page whose team chose where its times are read.
pub fn zoned_time(t: time::OffsetDateTime, tz: &jiff::tz::TimeZone) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else {
        return human_time(t);
    };
    ts.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// How one page shows its incidents: times absolute (so a cached page never says "5 minutes ago" for
/// an hour) in the page's zone, and components by name.
pub struct Times {
    tz: jiff::tz::TimeZone,
    names: HashMap<ComponentId, String>,
}

impl Times {
    pub fn of<'a>(page: &Page, components: impl IntoIterator<Item = &'a Component>) -> Self {
        Self {
            tz: jiff::tz::TimeZone::get(&page.time_zone).unwrap_or(jiff::tz::TimeZone::UTC),
            names: components
                .into_iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect(),
        }
    }

    pub fn stamp(&self, t: time::OffsetDateTime) -> Stamp {
        Stamp {
            shown: zoned_time(t, &self.tz),
            iso: rfc3339(t),
        }
    }

    /// A component no longer on the page is left out: the public never sees an id.
    fn affected<'a>(
        &self,
        pairs: impl IntoIterator<Item = &'a (ComponentId, ComponentStatus)>,
    ) -> Vec<AffectedView> {
        pairs
            .into_iter()
            .filter_map(|(id, s)| {
                Some(AffectedView {
                    name: self.names.get(id)?.clone(),
                    status_class: status_class(*s),
                    status_label: s.label(),
                })
            })
            .collect()
    }

    /// The names of `ids`, in the order given.
    pub fn names(&self, ids: &[ComponentId]) -> Vec<String> {
        ids.iter()
            .filter_map(|id| self.names.get(id).cloned())
            .collect()
    }

    fn updates(&self, updates: &[IncidentUpdate]) -> Vec<UpdateView> {
        updates
            .iter()
            .map(|u| UpdateView {
                stage: u.stage.label(),
                message: u.message.clone(),
                at: self.stamp(u.created_at),
                affected: self.affected(&u.affected),
            })
            .collect()
    }

    pub fn incident(&self, slug: &str, i: &Incident, updates: &[IncidentUpdate]) -> IncidentView {
        IncidentView {
            title: i.title.clone(),
            link: incident_link(slug, i),
            stage: i.stage.label(),
            started: self.stamp(i.started_at),
            resolved: i.resolved_at.map(|r| self.stamp(r)),
            affected: self.affected(&latest_statuses(updates)),
            updates: self.updates(updates),
        }
    }
}

/// Each component the updates named once, with the status the newest of them gave it (`updates` come
/// newest first).
fn latest_statuses(updates: &[IncidentUpdate]) -> Vec<(ComponentId, ComponentStatus)> {
    let mut out: Vec<(ComponentId, ComponentStatus)> = Vec::new();
    for (id, s) in updates.iter().flat_map(|u| &u.affected) {
        if !out.iter().any(|(seen, _)| seen == id) {
            out.push((id.clone(), *s));
        }
    }
    out
}

pub fn incident_link(slug: &str, i: &Incident) -> String {
    format!("/status/{slug}/incidents/{}", i.id.as_str())
}

/// The page's own policy: its logo may come from any https host, and its accent colour arrives in
/// one `<style>` element allowed by its hash rather than by allowing inline styles at large.
pub fn page_policy(logo: bool, theme: Option<&str>) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut csp = String::from(
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    if logo {
        csp.push_str("; img-src 'self' https:");
    }
    if let Some(css) = theme {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(css));
        csp.push_str(&format!("; style-src 'self' 'sha256-{hash}'"));
    }
    csp
}

/// The accent colour as the one inline style a public page may carry. It is checked again here (a
/// #rrggbb readable on the light page), so a colour saved before that rule existed is not shown.
pub fn theme_of(page: &Page) -> Option<String> {
    crate::domain::page::accent_color(&page.branding.accent_color)
        .ok()
        .filter(|c| !c.is_empty())
        .map(|accent| format!(":root{{--accent:{accent}}}"))
}

fn components_view(
    p: &PublicPage,
    bars: &HashMap<crate::ids::ComponentId, Vec<DayBar>>,
) -> Vec<ComponentView> {
    p.tree
        .iter()
        .map(|n| {
            let (own_bars, uptime) = bars_view(bars.get(&n.component.id));
            ComponentView {
                name: n.component.name.clone(),
                description: n.component.description.clone(),
                status_class: status_class(n.shown_status),
                status_label: n.shown_status.label(),
                children: n
                    .children
                    .iter()
                    .map(|c| {
                        let (bars, uptime) = bars_view(bars.get(&c.id));
                        ComponentView {
                            name: c.name.clone(),
                            description: c.description.clone(),
                            status_class: status_class(c.status),
                            status_label: c.status.label(),
                            children: Vec::new(),
                            bars,
                            uptime,
                        }
                    })
                    .collect(),
                bars: own_bars,
                uptime,
            }
        })
        .collect()
}

/// Renders the public status page of `slug` (served through the public cache).
pub async fn build_page(
    services: &Services,
    public_url: &str,
    slug: &str,
) -> Result<Built, WebError> {
    let p = services.public_page(slug).await?;
    let bars = services.uptime_bars(&p.page.id).await?;
    let times = Times::of(
        &p.page,
        p.tree
            .iter()
            .flat_map(|n| std::iter::once(&n.component).chain(&n.children)),
    );
    let slug = p.page.public_slug.clone();
    let brand = Brand::new(
        &p.page,
        public_url,
        &format!("/status/{slug}"),
        format!("{} status", p.page.name),
        p.status,
    );
    let page = StatusPage {
        name: p.page.name.clone(),
        description: p.page.description.clone(),
        overall_class: p.status.class(),
        overall_label: p.status.description,
        components: components_view(&p, &bars),
        active: p
            .active
            .iter()
            .map(|(i, u)| times.incident(&slug, i, u))
            .collect(),
        more_active: p
            .more_active
            .iter()
            .map(|i| (i.title.clone(), incident_link(&slug, i)))
            .collect(),
        maintenances: p
            .maintenances
            .iter()
            .map(|(m, message)| MaintenanceView {
                id: m.id.as_str().to_owned(),
                title: m.title.clone(),
                state: m.state.label(),
                starts: times.stamp(m.starts_at),
                ends: times.stamp(m.ends_at),
                message: message.clone(),
                components: times.names(&m.components),
            })
            .collect(),
        history: p
            .history
            .iter()
            .map(|(i, u)| times.incident(&slug, i, u))
            .collect(),
        history_days: HISTORY_DAYS,
        support_url: p.page.branding.support_url.clone(),
        slug,
        brand,
    };
    Ok(Built {
        content_type: HTML,
        body: page.render().map_err(render_failed)?.into_bytes(),
        policy: Some(page.brand.policy()),
        page: Some(p.page.id.clone()),
    })
}

pub const HTML: &str = "text/html; charset=utf-8";

pub fn render_failed(e: askama::Error) -> WebError {
    WebError::Internal(format!("template render failed: {e}"))
}

/// `GET /status/{slug}`: from the public cache; a view is counted in memory.
pub async fn show(
    req: PublicRequest,
    State(config): State<Arc<Config>>,
    Path(slug): Path<String>,
) -> Result<Response, PublicError> {
    req.serve(Key::new(&slug, "page"), true, || {
        build_page(&req.services, &config.public_url, &slug)
    })
    .await
}
