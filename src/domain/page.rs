//! Pages, components and the status definitions a component can be in.

use super::DomainError;

/// The status definitions, in rising order of severity (maintenance is planned, so it ranks below
/// any degradation when the page's overall status is worked out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        Self::Operational,
        Self::DegradedPerformance,
        Self::PartialOutage,
        Self::MajorOutage,
        Self::UnderMaintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::DegradedPerformance => "degraded_performance",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
            Self::UnderMaintenance => "under_maintenance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::DegradedPerformance => "Degraded performance",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
            Self::UnderMaintenance => "Under maintenance",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Operational => "Working normally.",
            Self::DegradedPerformance => "Working, but slower or less reliable than usual.",
            Self::PartialOutage => "Failing for some users or some requests.",
            Self::MajorOutage => "Unavailable for most or all users.",
            Self::UnderMaintenance => "Planned work is in progress.",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            DomainError::invalid(
                "status",
                "must be one of operational, degraded_performance, partial_outage, major_outage, under_maintenance",
            )
        })
    }

    /// A page's overall status is its worst component's.
    pub fn overall(statuses: impl IntoIterator<Item = ComponentStatus>) -> ComponentStatus {
        statuses
            .into_iter()
            .max()
            .unwrap_or(ComponentStatus::Operational)
    }
}

/// Groups hold components; components hold a status. A group's shown status is its worst child's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Group,
    Component,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Component => "component",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "group" => Ok(Self::Group),
            "component" => Ok(Self::Component),
            _ => Err(DomainError::invalid("kind", "must be group or component")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_status_is_the_worst() {
        use ComponentStatus::*;
        assert_eq!(ComponentStatus::overall([]), Operational);
        assert_eq!(
            ComponentStatus::overall([Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(
            ComponentStatus::overall([UnderMaintenance, PartialOutage, Operational]),
            PartialOutage
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(s.as_str()), Ok(s));
        }
        assert!(ComponentStatus::parse("fine").is_err());
    }
}
