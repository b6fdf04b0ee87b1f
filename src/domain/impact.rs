//! How bad things are, in Statuspage's words: an incident's impact, and the page's indicator and the
//! one sentence that says it. The public page's banner and the Statuspage JSON `status.description`
//! both come from [`PageStatus::of`], so a visitor and a bot read the same words for the same state.

use super::ComponentStatus;

/// Statuspage's incident impact and page indicator, in rising order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    /// What a component in `s` means for the page (maintenance is planned, so it has no impact).
    pub fn of(s: ComponentStatus) -> Self {
        match s {
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Self::None,
            ComponentStatus::DegradedPerformance => Self::Minor,
            ComponentStatus::PartialOutage => Self::Major,
            ComponentStatus::MajorOutage => Self::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
        }
    }

    /// An incident's impact: the worst status any of its updates gave a component (it stays after
    /// the incident resolves, as Statuspage's does).
    pub fn of_incident(affected: impl IntoIterator<Item = ComponentStatus>) -> Self {
        affected
            .into_iter()
            .map(Self::of)
            .max()
            .unwrap_or(Self::None)
    }
}

/// The page's indicator and its sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageStatus {
    pub indicator: Impact,
    /// "All Systems Operational", "Minor Service Outage", …
    pub description: &'static str,
    /// The component status the page shows overall (its colour on the banner).
    pub overall: ComponentStatus,
}

impl PageStatus {
    /// The worst of the components' shown statuses (`overall`) and the open incidents' impacts.
    pub fn of(overall: ComponentStatus, open_incidents: impl IntoIterator<Item = Impact>) -> Self {
        let indicator = open_incidents
            .into_iter()
            .chain(std::iter::once(Impact::of(overall)))
            .max()
            .unwrap_or(Impact::None);
        let description = match indicator {
            Impact::None if overall == ComponentStatus::UnderMaintenance => {
                "Service Under Maintenance"
            }
            Impact::None => "All Systems Operational",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major System Outage",
        };
        Self {
            indicator,
            description,
            overall,
        }
    }

    /// The CSS class the banner takes: the status whose colour matches the indicator.
    pub fn class(self) -> &'static str {
        match self.indicator {
            Impact::None => self.overall.as_str(),
            Impact::Minor => ComponentStatus::DegradedPerformance.as_str(),
            Impact::Major => ComponentStatus::PartialOutage.as_str(),
            Impact::Critical => ComponentStatus::MajorOutage.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_incident_can_raise_the_indicator_above_the_components() {
        use ComponentStatus::*;
        let calm = PageStatus::of(Operational, []);
        assert_eq!(calm.description, "All Systems Operational");
        assert_eq!(
            PageStatus::of(UnderMaintenance, []).description,
            "Service Under Maintenance"
        );
        assert_eq!(
            PageStatus::of(DegradedPerformance, []).description,
            "Minor Service Outage"
        );
        let raised = PageStatus::of(Operational, [Impact::Major]);
        assert_eq!(raised.description, "Partial System Outage");
        assert_eq!(raised.class(), "partial_outage");
        assert_eq!(
            Impact::of_incident([DegradedPerformance, MajorOutage]),
            Impact::Critical
        );
    }
}
