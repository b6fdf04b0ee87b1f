//! The page-bound `statusgate://` resource templates: URI template, name, description, and the scope
//! each needs.

use super::scope::McpScope;

/// Page-bound templates with the scope each needs.
pub const TEMPLATES: &[(&str, &str, &str, McpScope)] = &[
    (
        "statusgate://pages/{page_id}/summary",
        "page-summary",
        "Overall status, components, active incidents and upcoming maintenance",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/status-definitions",
        "status-definitions",
        "The component statuses this page uses",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/lifecycle/stages",
        "incident-stages",
        "Incident lifecycle stages",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenance-lifecycle/stages",
        "maintenance-stages",
        "Maintenance lifecycle stages",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/hierarchy/tree",
        "hierarchy",
        "Component groups and components",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/active",
        "active-incidents",
        "Open incidents",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/resolved?limit={limit}",
        "resolved-incidents",
        "Resolved incidents, newest first",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/{incident_id}",
        "incident",
        "One incident",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/{incident_id}/updates?limit={limit}",
        "incident-updates",
        "An incident's updates, newest first",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/active",
        "active-maintenances",
        "Maintenance in progress",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/upcoming",
        "upcoming-maintenances",
        "Scheduled maintenance not yet started",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/{maintenance_id}",
        "maintenance",
        "One maintenance",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/{maintenance_id}/updates?limit={limit}",
        "maintenance-updates",
        "A maintenance's updates, newest first",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/analytics/summary?window_days={window_days}",
        "analytics-summary",
        "Uptime, incidents, maintenance and page views over a window of days",
        McpScope::AnalyticsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats",
        "beats",
        "Synthetic HTTP monitors",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beat-groups",
        "beat-groups",
        "Monitor groups",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/pending-actions",
        "pending-actions",
        "Proposed actions waiting for a person (needs monitor-manage permission)",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/recent-failures?limit={limit}",
        "recent-failures",
        "Failed runs, newest first",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/{monitor_id}/recent-events?limit={limit}",
        "monitor-events",
        "One monitor's latest runs",
        McpScope::BeatsRead,
    ),
];
