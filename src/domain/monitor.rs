//! Monitors ("beats"): synthetic HTTP checks, the events they record, and the actions they propose
//! after repeated failures or a recovery. Pure rules; the scheduler and HTTP live elsewhere.

use time::OffsetDateTime;

use super::{ComponentStatus, DomainError, Name};
use crate::ids::{ComponentId, MonitorEventId, MonitorGroupId, MonitorId, PageId, PendingActionId};

/// Longest check timeout we accept; a check never holds a lease longer than this plus slack.
pub const MAX_TIMEOUT_MS: i64 = 60_000;
pub const MAX_INTERVAL_SECS: i64 = 86_400;
const MAX_URL_LEN: usize = 2_000;
const MAX_BODY_NEEDLE: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 3] = [Self::Get, Self::Head, Self::Post];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Ok(Self::Get),
            "HEAD" => Ok(Self::Head),
            "POST" => Ok(Self::Post),
            _ => Err(DomainError::invalid("method", "must be GET, HEAD or POST")),
        }
    }
}

/// Checks the shape of an http(s) URL: scheme, a host, no spaces or control characters. The prober
/// parses it fully before connecting.
pub fn check_http_url(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let url = raw.trim();
    if url.len() > MAX_URL_LEN {
        return Err(DomainError::invalid(field, "is too long"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| DomainError::invalid(field, "must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    if authority.contains('@') {
        // Viewers, read-only keys and connectors all see monitor URLs; a password there would leak.
        return Err(DomainError::invalid(
            field,
            "must not carry credentials (user:password@); check an endpoint that needs no secret",
        ));
    }
    let host = authority;
    if host.is_empty() || host.starts_with(':') {
        return Err(DomainError::invalid(field, "must name a host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid(field, "must not contain spaces"));
    }
    Ok(url.to_owned())
}

/// What a person asks for when creating or editing a monitor, checked against the interval floor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSpec {
    pub name: String,
    pub method: HttpMethod,
    pub url: String,
    pub expect_min: i64,
    pub expect_max: i64,
    pub body_contains: Option<String>,
    pub timeout_ms: i64,
    pub interval_secs: i64,
    pub enabled: bool,
    pub component_id: Option<ComponentId>,
    pub group_id: Option<MonitorGroupId>,
}

/// Raw input for [`MonitorSpec::parse`].
pub struct MonitorInput<'a> {
    pub name: &'a str,
    pub method: &'a str,
    pub url: &'a str,
    pub expect_min: i64,
    pub expect_max: i64,
    pub body_contains: Option<&'a str>,
    pub timeout_ms: i64,
    pub interval_secs: i64,
    pub enabled: bool,
    pub component_id: Option<ComponentId>,
    pub group_id: Option<MonitorGroupId>,
}

impl MonitorSpec {
    pub fn parse(input: MonitorInput<'_>, min_interval_secs: i64) -> Result<Self, DomainError> {
        let name = Name::parse("name", input.name)?.into_inner();
        let method = HttpMethod::parse(input.method)?;
        let url = check_http_url("url", input.url)?;
        if !(100..=599).contains(&input.expect_min)
            || !(100..=599).contains(&input.expect_max)
            || input.expect_min > input.expect_max
        {
            return Err(DomainError::invalid(
                "expected_status",
                "must be a range of HTTP statuses between 100 and 599, low to high",
            ));
        }
        if !(100..=MAX_TIMEOUT_MS).contains(&input.timeout_ms) {
            return Err(DomainError::invalid(
                "timeout_ms",
                format!("must be between 100 and {MAX_TIMEOUT_MS}"),
            ));
        }
        if input.interval_secs < min_interval_secs || input.interval_secs > MAX_INTERVAL_SECS {
            return Err(DomainError::invalid(
                "interval_secs",
                format!("must be between {min_interval_secs} and {MAX_INTERVAL_SECS} seconds"),
            ));
        }
        let body_contains = match input.body_contains.map(str::trim) {
            Some(s) if s.chars().count() > MAX_BODY_NEEDLE => {
                return Err(DomainError::invalid(
                    "body_contains",
                    format!("must be at most {MAX_BODY_NEEDLE} characters"),
                ))
            }
            Some(s) if !s.is_empty() => Some(s.to_owned()),
            _ => None,
        };
        Ok(Self {
            name,
            method,
            url,
            expect_min: input.expect_min,
            expect_max: input.expect_max,
            body_contains,
            timeout_ms: input.timeout_ms,
            interval_secs: input.interval_secs,
            enabled: input.enabled,
            component_id: input.component_id,
            group_id: input.group_id,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub id: MonitorId,
    pub page_id: PageId,
    pub spec: MonitorSpec,
    pub next_run_at: OffsetDateTime,
    pub consecutive_failures: i64,
    /// The last run's outcome; `None` before the first run.
    pub last_ok: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorGroup {
    pub id: MonitorGroupId,
    pub page_id: PageId,
    pub name: String,
}

/// Why a check ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "schedule" => Ok(Self::Schedule),
            "manual" => Ok(Self::Manual),
            _ => Err(DomainError::invalid("trigger", "unknown")),
        }
    }
}

/// One run of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorEvent {
    pub id: MonitorEventId,
    pub monitor_id: MonitorId,
    pub checked_at: OffsetDateTime,
    pub ok: bool,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub trigger: Trigger,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Open an incident naming the component with `status`.
    OpenIncident,
    /// Set the component's status directly.
    SetStatus,
    /// Recovery while incidents naming the component are open: resolve them, setting it to `status`.
    ResolveIncident,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenIncident => "open_incident",
            Self::SetStatus => "set_status",
            Self::ResolveIncident => "resolve_incident",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "open_incident" => Ok(Self::OpenIncident),
            "set_status" => Ok(Self::SetStatus),
            "resolve_incident" => Ok(Self::ResolveIncident),
            _ => Err(DomainError::invalid("kind", "unknown action kind")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionState {
    Pending,
    Approved,
    Rejected,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            _ => Err(DomainError::invalid("state", "unknown action state")),
        }
    }
}

/// An action a monitor proposes; nothing happens until a person approves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAction {
    pub id: PendingActionId,
    pub page_id: PageId,
    pub monitor_id: Option<MonitorId>,
    pub component_id: ComponentId,
    pub kind: ActionKind,
    pub status: ComponentStatus,
    pub reason: String,
    pub state: ActionState,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What, if anything, a run's outcome should propose. `failures_before` is the streak before this run.
/// A proposal is made once, when the streak reaches the threshold, and once on the first success after it.
pub fn proposal_after_run(
    ok: bool,
    failures_before: i64,
    threshold: i64,
    component_status: ComponentStatus,
) -> Option<(ActionKind, ComponentStatus)> {
    if ok {
        let was_down = failures_before >= threshold;
        (was_down && component_status != ComponentStatus::Operational)
            .then_some((ActionKind::SetStatus, ComponentStatus::Operational))
    } else {
        (failures_before + 1 == threshold
            && !matches!(
                component_status,
                ComponentStatus::MajorOutage | ComponentStatus::UnderMaintenance
            ))
        .then_some((ActionKind::OpenIncident, ComponentStatus::MajorOutage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, interval: i64) -> MonitorInput<'_> {
        MonitorInput {
            name: "API",
            method: "get",
            url,
            expect_min: 200,
            expect_max: 299,
            body_contains: Some(""),
            timeout_ms: 5_000,
            interval_secs: interval,
            enabled: true,
            component_id: None,
            group_id: None,
        }
    }

    #[test]
    fn specs_check_url_interval_and_range() {
        assert!(MonitorSpec::parse(input("https://example.com/health", 60), 30).is_ok());
        assert!(MonitorSpec::parse(input("ftp://example.com", 60), 30).is_err());
        assert!(MonitorSpec::parse(input("https:///path", 60), 30).is_err());
        assert!(MonitorSpec::parse(input("https://exa mple.com", 60), 30).is_err());
        for with_secret in [
            "https://user:pw@example.com/health",
            "https://token@example.com/",
            "http://a:b@127.0.0.1:9/x?y=@z",
        ] {
            let e = MonitorSpec::parse(input(with_secret, 60), 30);
            assert!(
                e.is_err_and(|e| e.to_string().contains("credentials")),
                "{with_secret}"
            );
        }
        assert!(MonitorSpec::parse(input("https://example.com/a@b", 60), 30).is_ok());
        let e = MonitorSpec::parse(input("https://example.com", 5), 30);
        assert!(e.is_err_and(|e| e.to_string().contains("interval_secs")));
        let mut bad = input("https://example.com", 60);
        bad.expect_min = 300;
        bad.expect_max = 200;
        assert!(MonitorSpec::parse(bad, 30).is_err());
    }

    #[test]
    fn proposals_fire_once_at_the_threshold_and_on_recovery() {
        use ComponentStatus::*;
        assert_eq!(proposal_after_run(false, 0, 3, Operational), None);
        assert_eq!(
            proposal_after_run(false, 2, 3, Operational),
            Some((ActionKind::OpenIncident, MajorOutage))
        );
        assert_eq!(proposal_after_run(false, 3, 3, Operational), None);
        assert_eq!(
            proposal_after_run(true, 5, 3, MajorOutage),
            Some((ActionKind::SetStatus, Operational))
        );
        assert_eq!(proposal_after_run(true, 5, 3, Operational), None);
        assert_eq!(proposal_after_run(true, 1, 3, MajorOutage), None);
    }
}
