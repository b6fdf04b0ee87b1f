//! The public status page: readable without JavaScript, on a phone and a desktop.

use std::collections::HashMap;

use askama::Template;
use axum::extract::Path;
use axum::response::Response;

use super::public_cache::{Built, Key, PublicRequest};
use super::{PublicError, WebError};
use crate::clock::rfc3339;
use crate::domain::{ComponentStatus, Incident, IncidentUpdate, Page};
use crate::service::analytics::DayBar;
use crate::service::public_pages::{PublicPage, HISTORY_DAYS};
use crate::service::Services;

pub struct ComponentView {
    pub name: String,
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
    pub updates: Vec<UpdateView>,
}

pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub starts: Stamp,
    pub ends: Stamp,
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    name: String,
    overall_class: &'static str,
    overall_label: &'static str,
    components: Vec<ComponentView>,
    active: Vec<IncidentView>,
    more_active: Vec<(String, String)>,
    maintenances: Vec<MaintenanceView>,
    history: Vec<IncidentView>,
    history_days: i64,
    slug: String,
    logo_url: String,
    support_url: String,
    theme: Option<String>,
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

/// Times for one page: absolute, so a cached page never says "5 minutes ago" for an hour.
pub struct Times(jiff::tz::TimeZone);

impl Times {
    pub fn of(page: &Page) -> Self {
        Self(jiff::tz::TimeZone::get(&page.time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
    }

    pub fn stamp(&self, t: time::OffsetDateTime) -> Stamp {
        Stamp {
            shown: zoned_time(t, &self.0),
            iso: rfc3339(t),
        }
    }

    fn updates(&self, updates: &[IncidentUpdate]) -> Vec<UpdateView> {
        updates
            .iter()
            .map(|u| UpdateView {
                stage: u.stage.label(),
                message: u.message.clone(),
                at: self.stamp(u.created_at),
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
            updates: self.updates(updates),
        }
    }
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

fn overall_label(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "All systems operational",
        ComponentStatus::UnderMaintenance => "Maintenance in progress",
        ComponentStatus::DegradedPerformance => "Degraded performance",
        ComponentStatus::PartialOutage => "Partial outage",
        ComponentStatus::MajorOutage => "Major outage",
    }
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
                status_class: status_class(n.shown_status),
                status_label: n.shown_status.label(),
                children: n
                    .children
                    .iter()
                    .map(|c| {
                        let (bars, uptime) = bars_view(bars.get(&c.id));
                        ComponentView {
                            name: c.name.clone(),
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
pub async fn build_page(services: &Services, slug: &str) -> Result<Built, WebError> {
    let p = services.public_page(slug).await?;
    let bars = services.uptime_bars(&p.page.id).await?;
    let times = Times::of(&p.page);
    let slug = p.page.public_slug.clone();
    let theme = theme_of(&p.page);
    let branding = &p.page.branding;
    let page = StatusPage {
        name: p.page.name.clone(),
        overall_class: status_class(p.overall),
        overall_label: overall_label(p.overall),
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
            .map(|m| MaintenanceView {
                id: m.id.as_str().to_owned(),
                title: m.title.clone(),
                state: m.state.label(),
                starts: times.stamp(m.starts_at),
                ends: times.stamp(m.ends_at),
            })
            .collect(),
        history: p
            .history
            .iter()
            .map(|(i, u)| times.incident(&slug, i, u))
            .collect(),
        history_days: HISTORY_DAYS,
        logo_url: branding.logo_url.clone(),
        support_url: branding.support_url.clone(),
        theme: theme.clone(),
        slug,
    };
    Ok(Built {
        content_type: HTML,
        body: page.render().map_err(render_failed)?.into_bytes(),
        policy: Some(page_policy(!branding.logo_url.is_empty(), theme.as_deref())),
        page: Some(p.page.id.clone()),
    })
}

pub const HTML: &str = "text/html; charset=utf-8";

pub fn render_failed(e: askama::Error) -> WebError {
    WebError::Internal(format!("template render failed: {e}"))
}

/// `GET /status/{slug}`: from the public cache; a view is counted in memory.
pub async fn show(req: PublicRequest, Path(slug): Path<String>) -> Result<Response, PublicError> {
    req.serve(Key::new(&slug, "page"), true, || {
        build_page(&req.services, &slug)
    })
    .await
}
