//! Maintenance windows and their lifecycle: scheduled -> in_progress -> completed, with cancelled
//! reachable from either open state. Completed and cancelled are final.

use time::{Duration, OffsetDateTime};

use super::DomainError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintenanceState {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl MaintenanceState {
    pub const ALL: [MaintenanceState; 4] = [
        Self::Scheduled,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Scheduled => "Planned and announced; work has not started.",
            Self::InProgress => "Work is under way; affected components show under maintenance.",
            Self::Completed => "Work finished.",
            Self::Cancelled => "Called off before or during the window.",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "state",
                    "must be one of scheduled, in_progress, completed, cancelled",
                )
            })
    }

    pub fn is_open(self) -> bool {
        matches!(self, Self::Scheduled | Self::InProgress)
    }

    pub fn check_transition(self, next: MaintenanceState) -> Result<(), DomainError> {
        use MaintenanceState::*;
        let ok = matches!(
            (self, next),
            (Scheduled, Scheduled | InProgress | Completed | Cancelled)
                | (InProgress, InProgress | Completed | Cancelled)
        );
        if ok {
            Ok(())
        } else {
            Err(DomainError::Transition(format!(
                "a {} maintenance cannot move to {}",
                self.as_str(),
                next.as_str()
            )))
        }
    }
}

/// A planned window: it ends after it starts, lasts at most 14 days, and is not scheduled to end in the past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
}

impl MaintenanceWindow {
    pub const MAX_LENGTH: Duration = Duration::days(14);

    pub fn new(
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self, DomainError> {
        if ends_at <= starts_at {
            return Err(DomainError::invalid("ends_at", "must be after starts_at"));
        }
        if ends_at - starts_at > Self::MAX_LENGTH {
            return Err(DomainError::invalid(
                "ends_at",
                "a window lasts at most 14 days",
            ));
        }
        if ends_at <= now {
            return Err(DomainError::invalid("ends_at", "must be in the future"));
        }
        Ok(Self { starts_at, ends_at })
    }

    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

#[cfg(test)]
mod tests {
    use super::MaintenanceState::*;
    use super::*;
    use time::macros::datetime;

    #[test]
    fn final_states_stay_final() {
        assert!(Scheduled.check_transition(InProgress).is_ok());
        assert!(InProgress.check_transition(Completed).is_ok());
        assert!(Scheduled.check_transition(Cancelled).is_ok());
        assert!(InProgress.check_transition(Scheduled).is_err());
        assert!(Completed.check_transition(InProgress).is_err());
        assert!(Cancelled.check_transition(Scheduled).is_err());
    }

    #[test]
    fn windows_must_be_ordered_bounded_and_ahead() {
        let now = datetime!(2026-01-10 12:00 UTC);
        let h = Duration::hours(1);
        assert!(MaintenanceWindow::new(now + h, now + 2 * h, now).is_ok());
        assert!(MaintenanceWindow::new(now + 2 * h, now + h, now).is_err());
        assert!(MaintenanceWindow::new(now - 3 * h, now - h, now).is_err());
        assert!(MaintenanceWindow::new(now, now + Duration::days(15), now).is_err());
        let w = MaintenanceWindow::new(now - h, now + h, now);
        assert!(w.is_ok_and(|w| w.is_active_at(now)));
    }
}
