//! The public status page: readable without JavaScript, on a phone and a desktop.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::session::WebSession;
use super::{render, WebError};
use crate::clock::rfc3339;
use crate::domain::{ComponentStatus, IncidentUpdate};
use crate::service::analytics::DayBar;
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
    pub at: String,
}

pub struct IncidentView {
    pub title: String,
    pub stage: &'static str,
    pub started: String,
    pub resolved: Option<String>,
    pub updates: Vec<UpdateView>,
}

pub struct MaintenanceView {
    pub title: String,
    pub state: &'static str,
    pub window: String,
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    name: String,
    overall_class: &'static str,
    overall_label: &'static str,
    components: Vec<ComponentView>,
    active: Vec<IncidentView>,
    maintenances: Vec<MaintenanceView>,
    history: Vec<IncidentView>,
    slug: String,
    csrf: String,
    email_enabled: bool,
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

fn updates_view(updates: &[IncidentUpdate], tz: &jiff::tz::TimeZone) -> Vec<UpdateView> {
    updates
        .iter()
        .map(|u| UpdateView {
            stage: u.stage.label(),
            message: u.message.clone(),
            at: zoned_time(u.created_at, tz),
        })
        .collect()
}

/// The page's own policy: its logo may come from any https host, and its accent colour arrives in
/// one `<style>` element allowed by its hash rather than by allowing inline styles at large.
fn page_policy(logo: bool, theme: Option<&str>) -> String {
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

pub async fn show(
    State(services): State<Services>,
    session: WebSession,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let p = services.public_page(&slug).await?;
    services.count_page_view(&p.page.id).await;
    let bars = services.uptime_bars(&p.page.id).await?;
    let components = p
        .tree
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
        .collect();
    let tz = jiff::tz::TimeZone::get(&p.page.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = |t: time::OffsetDateTime| zoned_time(t, &tz);
    let incident_view = |(i, u): &(crate::domain::Incident, Vec<IncidentUpdate>)| IncidentView {
        title: i.title.clone(),
        stage: i.stage.label(),
        started: at(i.started_at),
        resolved: i.resolved_at.map(at),
        updates: updates_view(u, &tz),
    };
    let branding = &p.page.branding;
    // The accent colour was checked to be #rrggbb when saved.
    let theme = (!branding.accent_color.is_empty())
        .then(|| format!(":root{{--accent:{}}}", branding.accent_color));
    let page = StatusPage {
        name: p.page.name.clone(),
        overall_class: status_class(p.overall),
        overall_label: match p.overall {
            ComponentStatus::Operational => "All systems operational",
            ComponentStatus::UnderMaintenance => "Maintenance in progress",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        },
        components,
        active: p.active.iter().map(incident_view).collect(),
        maintenances: p
            .maintenances
            .iter()
            .map(|m| MaintenanceView {
                title: m.title.clone(),
                state: m.state.label(),
                window: format!("{} to {}", at(m.starts_at), at(m.ends_at)),
            })
            .collect(),
        history: p.history.iter().map(incident_view).collect(),
        slug: p.page.public_slug.clone(),
        csrf: session.csrf_token().await?,
        email_enabled: services.monitoring.smtp.enabled(),
        logo_url: branding.logo_url.clone(),
        support_url: branding.support_url.clone(),
        theme: theme.clone(),
    };
    let mut resp = render(&page);
    let policy = page_policy(!branding.logo_url.is_empty(), theme.as_deref());
    if let Ok(v) = axum::http::HeaderValue::from_str(&policy) {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(resp)
}
