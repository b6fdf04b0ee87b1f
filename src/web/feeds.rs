//! A public page's history as Atom and RSS feeds, and its maintenance windows as an iCalendar file,
//! written with the `atom_syndication`, `rss` and `icalendar` crates. Bodies depend only on the data:
//! every time in them comes from the data, never from the clock, so the same data gives the same
//! bytes (a cache may derive an ETag from them).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use time::OffsetDateTime;

use super::public_cache::Built;
use super::status_page::human_time;
use super::WebError;
use crate::config::Config;
use crate::domain::{breaks_line, ComponentStatus, MaintenanceState};
use crate::ids::ComponentId;
use crate::service::public_feed::{FeedIncident, FeedMaintenance, PublicFeed};
use crate::service::Services;
use crate::state::AppState;

/// How many entries the Atom and RSS feeds carry.
const FEED_ENTRIES: usize = 50;

pub(super) fn page_link(public_url: &str, slug: &str) -> String {
    format!("{}/status/{slug}", public_url.trim_end_matches('/'))
}

pub(super) fn incident_link(public_url: &str, slug: &str, id: &str) -> String {
    format!("{}/incidents/{id}", page_link(public_url, slug))
}

pub(super) fn maintenance_link(public_url: &str, slug: &str, id: &str) -> String {
    format!("{}#maintenance-{id}", page_link(public_url, slug))
}

/// `2026-11-22T14:05:00.000Z`: UTC with milliseconds, as Statuspage writes its times.
pub(super) fn json_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| crate::clock::rfc3339(t))
}

fn utc(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A one-line value (a title, a page name) as a feed writes it. Names are refused with a line break
/// or control character since they are parsed as one line, but a row stored before that, or written
/// by hand, may still hold one: it becomes a space, so it can start no new line or property.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if breaks_line(c) { ' ' } else { c })
        .collect()
}

/// Multi-line text for XML (Atom, RSS): the characters XML 1.0 cannot carry are dropped, so a stored
/// control character cannot make the feed unreadable; the writers escape the rest.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .filter(|&c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect()
}

/// Multi-line text for iCalendar: CR LF and a lone CR become LF, the one line break the `icalendar`
/// crate escapes (as `\n`) in a TEXT value; other control characters but tab are dropped.
fn ics_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// A property whose value the `icalendar` crate escapes as TEXT (it does so only for the property
/// names it knows as TEXT; `NAME` and `X-WR-CALNAME` are not among them).
fn ics_text_property(key: &str, value: &str) -> icalendar::Property {
    icalendar::Property::new(key, one_line(value))
        .add_parameter("VALUE", "TEXT")
        .done()
}

/// One incident or maintenance as a feed entry: its updates as HTML, newest first.
struct Entry {
    title: String,
    link: String,
    published: OffsetDateTime,
    updated: OffsetDateTime,
    html: String,
}

fn update_html(label: &str, message: &str, at: OffsetDateTime) -> String {
    format!(
        "<p><small>{}</small><br><strong>{}</strong> - {}</p>",
        escape(&human_time(at)),
        escape(label),
        escape(&xml_text(message))
    )
}

/// The name of each component of the feed's page, by id.
fn names(feed: &PublicFeed) -> HashMap<&ComponentId, &str> {
    feed.components
        .iter()
        .map(|c| (&c.component.id, c.component.name.as_str()))
        .collect()
}

/// "Affected: REST API (Partial outage), Webhooks (Degraded performance)", the words the page uses.
fn affected_html<'a>(
    names: &HashMap<&ComponentId, &str>,
    pairs: impl IntoIterator<Item = &'a (ComponentId, ComponentStatus)>,
) -> String {
    let named: Vec<String> = pairs
        .into_iter()
        .filter_map(|(id, s)| Some(format!("{} ({})", escape(names.get(id)?), s.label())))
        .collect();
    if named.is_empty() {
        return String::new();
    }
    format!("<p>Affected: {}</p>", named.join(", "))
}

fn incident_entry(
    public_url: &str,
    slug: &str,
    names: &HashMap<&ComponentId, &str>,
    i: &FeedIncident,
) -> Entry {
    // Newest first, so the first mention of a component is its latest status.
    let mut latest: Vec<(ComponentId, ComponentStatus)> = Vec::new();
    for (id, s) in i.updates.iter().rev().flat_map(|(u, _)| &u.affected) {
        if !latest.iter().any(|(seen, _)| seen == id) {
            latest.push((id.clone(), *s));
        }
    }
    let mut html = affected_html(names, &latest);
    for (u, _) in i.updates.iter().rev() {
        html.push_str(&update_html(u.stage.label(), &u.message, u.created_at));
        html.push_str(&affected_html(names, &u.affected));
    }
    Entry {
        title: one_line(&i.incident.title),
        link: incident_link(public_url, slug, i.incident.id.as_str()),
        published: i.created_at,
        updated: i
            .updates
            .iter()
            .map(|(_, at)| *at)
            .fold(i.incident.updated_at, OffsetDateTime::max),
        html,
    }
}

fn maintenance_entry(
    public_url: &str,
    slug: &str,
    names: &HashMap<&ComponentId, &str>,
    m: &FeedMaintenance,
) -> Entry {
    let mm = &m.maintenance;
    let mut html = format!(
        "<p><strong>{}</strong>: {} to {}</p>",
        escape(mm.state.label()),
        escape(&human_time(mm.starts_at)),
        escape(&human_time(mm.ends_at))
    );
    let covered: Vec<String> = mm
        .components
        .iter()
        .filter_map(|id| names.get(id).map(|n| escape(n)))
        .collect();
    if !covered.is_empty() {
        html.push_str(&format!("<p>Components: {}</p>", covered.join(", ")));
    }
    for (u, _) in m.updates.iter().rev() {
        html.push_str(&update_html(u.state.label(), &u.message, u.created_at));
    }
    Entry {
        title: format!("Maintenance: {}", one_line(&mm.title)),
        link: maintenance_link(public_url, slug, mm.id.as_str()),
        published: m.created_at,
        updated: m
            .updates
            .iter()
            .map(|(_, at)| *at)
            .fold(mm.updated_at, OffsetDateTime::max),
        html,
    }
}

/// Incidents and maintenances together, most recently changed first, at most [`FEED_ENTRIES`].
fn entries(public_url: &str, feed: &PublicFeed) -> Vec<Entry> {
    let slug = &feed.page.public_slug;
    let names = names(feed);
    let mut all: Vec<Entry> = feed
        .incidents
        .iter()
        .map(|i| incident_entry(public_url, slug, &names, i))
        .chain(
            feed.maintenances
                .iter()
                .map(|m| maintenance_entry(public_url, slug, &names, m)),
        )
        .collect();
    all.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.link.cmp(&b.link)));
    all.truncate(FEED_ENTRIES);
    all
}

pub(super) async fn build_atom(
    services: &Services,
    public_url: &str,
    slug: &str,
) -> Result<Built, WebError> {
    use atom_syndication::{Content, Entry as AtomEntry, Feed, Link, Person, Text};
    let feed = services.public_feed(slug).await?;
    let page_url = page_link(public_url, &feed.page.public_slug);
    let self_url = format!("{page_url}/history.atom");
    let link = |href: &str, rel: &str, mime: Option<&str>| {
        let mut l = Link::default();
        l.set_href(href);
        l.set_rel(rel);
        l.set_mime_type(mime.map(str::to_owned));
        l
    };
    let items = entries(public_url, &feed)
        .into_iter()
        .map(|e| {
            let mut content = Content::default();
            content.set_content_type(Some("html".to_owned()));
            content.set_value(Some(e.html));
            let mut entry = AtomEntry::default();
            entry.set_title(Text::plain(e.title));
            entry.set_id(e.link.clone());
            entry.set_links(vec![link(&e.link, "alternate", Some("text/html"))]);
            entry.set_published(Some(utc(e.published).fixed_offset()));
            entry.set_updated(utc(e.updated).fixed_offset());
            entry.set_content(Some(content));
            entry
        })
        .collect::<Vec<_>>();
    let page_name = one_line(&feed.page.name);
    let mut author = Person::default();
    author.set_name(page_name.clone());
    let mut atom = Feed::default();
    atom.set_title(Text::plain(format!("{page_name} status history")));
    atom.set_id(self_url.clone());
    atom.set_updated(utc(feed.updated_at).fixed_offset());
    atom.set_authors(vec![author]);
    atom.set_links(vec![
        link(&page_url, "alternate", Some("text/html")),
        link(&self_url, "self", Some("application/atom+xml")),
    ]);
    atom.set_entries(items);
    Ok(Built {
        content_type: "application/atom+xml; charset=utf-8",
        body: atom.to_string().into_bytes(),
        page: Some(feed.page.id.clone()),
        policy: None,
    })
}

pub(super) async fn build_rss(
    services: &Services,
    public_url: &str,
    slug: &str,
) -> Result<Built, WebError> {
    use rss::{Channel, Guid, Item};
    let feed = services.public_feed(slug).await?;
    let rfc2822 = |t: OffsetDateTime| {
        t.to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default()
    };
    let items = entries(public_url, &feed)
        .into_iter()
        .map(|e| {
            let mut guid = Guid::default();
            guid.set_value(e.link.clone());
            guid.set_permalink(true);
            let mut item = Item::default();
            item.set_title(Some(e.title));
            item.set_link(Some(e.link));
            item.set_guid(Some(guid));
            item.set_pub_date(Some(rfc2822(e.updated)));
            item.set_description(Some(e.html));
            item
        })
        .collect::<Vec<_>>();
    let page_name = one_line(&feed.page.name);
    let mut channel = Channel::default();
    channel.set_title(format!("{page_name} status history"));
    channel.set_link(page_link(public_url, &feed.page.public_slug));
    channel.set_description(format!(
        "Incidents and maintenance for {page_name}, most recent first"
    ));
    channel.set_last_build_date(Some(rfc2822(feed.updated_at)));
    channel.set_items(items);
    Ok(Built {
        content_type: "application/rss+xml; charset=utf-8",
        body: channel.to_string().into_bytes(),
        page: Some(feed.page.id.clone()),
        policy: None,
    })
}

/// Scheduled and in-progress maintenances as VEVENTs. A UID is the maintenance id at the public
/// host, so a calendar that subscribes updates the event in place when a window moves.
pub(super) async fn build_ics(
    services: &Services,
    public_url: &str,
    slug: &str,
) -> Result<Built, WebError> {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let feed = services.public_feed(slug).await?;
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "statusgate".to_owned());
    let mut calendar = Calendar::new();
    let name = format!("{} maintenance", feed.page.name);
    calendar.append_property(ics_text_property("NAME", &name));
    calendar.append_property(ics_text_property("X-WR-CALNAME", &name));
    for m in &feed.maintenances {
        let mm = &m.maintenance;
        if !matches!(
            mm.state,
            MaintenanceState::Scheduled | MaintenanceState::InProgress
        ) {
            continue;
        }
        let changed = m
            .updates
            .iter()
            .map(|(_, at)| *at)
            .fold(mm.updated_at, OffsetDateTime::max);
        let latest = m.updates.last().map(|(u, _)| u.message.as_str());
        let link = maintenance_link(public_url, &feed.page.public_slug, mm.id.as_str());
        let mut event = Event::new();
        event
            .uid(&format!("{}@{host}", mm.id))
            .summary(&one_line(&mm.title))
            .starts(utc(mm.starts_at))
            .ends(utc(mm.ends_at))
            .timestamp(utc(changed))
            .status(EventStatus::Confirmed)
            .add_property("URL", &link);
        if let Some(text) = latest {
            event.description(&ics_text(text));
        }
        calendar.push(event.done());
    }
    Ok(Built {
        content_type: "text/calendar; charset=utf-8",
        body: calendar.done().to_string().into_bytes(),
        page: Some(feed.page.id.clone()),
        policy: None,
    })
}

/// Defines the axum handler `$name` for a public representation: the page's slug in, `$build`'s
/// bytes out. Each representation has its builder so a response cache can wrap any of them.
macro_rules! public_handler {
    ($name:ident, $build:path) => {
        async fn $name(
            req: $crate::web::public_cache::PublicRequest,
            State(config): State<Arc<Config>>,
            Path(slug): Path<String>,
        ) -> Result<axum::response::Response, $crate::web::PublicError> {
            let key = $crate::web::public_cache::Key::new(&slug, stringify!($name));
            req.serve(key, false, || {
                $build(&req.services, &config.public_url, &slug)
            })
            .await
        }
    };
}
pub(super) use public_handler;

public_handler!(atom, build_atom);
public_handler!(rss, build_rss);
public_handler!(ics, build_ics);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{public_slug}/history.atom", get(atom))
        .route("/status/{public_slug}/history.rss", get(rss))
        .route("/status/{public_slug}/maintenances.ics", get(ics))
}
