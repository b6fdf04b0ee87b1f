//! Incidents and their lifecycle: investigating -> identified -> monitoring -> resolved, as a pure state
//! machine. Open stages may move to any stage; a resolved incident takes no update until it is reopened.

use super::{ComponentStatus, DomainError, Message};
use crate::ids::ComponentId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentStage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStage {
    pub const ALL: [IncidentStage; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Investigating => "We know something is wrong and are looking into it.",
            Self::Identified => "The cause is known and a fix is under way.",
            Self::Monitoring => "A fix is in place and we are watching the results.",
            Self::Resolved => "The incident is over.",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "stage",
                    "must be one of investigating, identified, monitoring, resolved",
                )
            })
    }

    pub fn is_open(self) -> bool {
        self != Self::Resolved
    }

    /// May an update move an incident from `self` to `next`?
    pub fn check_update(self, next: IncidentStage) -> Result<(), DomainError> {
        if self == Self::Resolved {
            return Err(DomainError::Transition(format!(
                "the incident is resolved; reopen it before posting a {} update",
                next.as_str()
            )));
        }
        Ok(())
    }

    /// Reopening puts a resolved incident back to `to`, which must be an open stage.
    pub fn check_reopen(self, to: IncidentStage) -> Result<(), DomainError> {
        if self != Self::Resolved {
            return Err(DomainError::Transition(
                "only a resolved incident can be reopened".into(),
            ));
        }
        if !to.is_open() {
            return Err(DomainError::Transition(
                "an incident is reopened to an open stage".into(),
            ));
        }
        Ok(())
    }
}

/// One timestamped update: the stage it moves to, what to tell readers, and the components it affects
/// with the status each is now in.
#[derive(Clone, Debug)]
pub struct NewIncidentUpdate {
    pub stage: IncidentStage,
    pub message: Message,
    pub affected: Vec<(ComponentId, ComponentStatus)>,
    pub notify: bool,
}

/// Each component at most once, at most 50 of them.
/// Reads `(component id, status)` pairs as the front ends receive them; every refusal names
/// `affected_components`, so a form can show it beside the component list.
pub fn parse_affected(
    pairs: &[(String, String)],
) -> Result<Vec<(ComponentId, ComponentStatus)>, DomainError> {
    let list = pairs
        .iter()
        .map(|(id, status)| {
            let component = ComponentId::parse(id).ok_or_else(|| {
                DomainError::invalid("affected_components", format!("{id} is not a component id"))
            })?;
            let status = ComponentStatus::parse(status).map_err(|e| match e {
                DomainError::Invalid { reason, .. } => {
                    DomainError::invalid("affected_components", format!("status of {id} {reason}"))
                }
                other => other,
            })?;
            Ok((component, status))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_affected(&list)?;
    Ok(list)
}

pub fn check_affected(affected: &[(ComponentId, ComponentStatus)]) -> Result<(), DomainError> {
    if affected.len() > 50 {
        return Err(DomainError::invalid(
            "affected_components",
            "at most 50 components per update",
        ));
    }
    for (i, (id, _)) in affected.iter().enumerate() {
        if affected[..i].iter().any(|(other, _)| other == id) {
            return Err(DomainError::invalid(
                "affected_components",
                format!("{id} is listed twice"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::IncidentStage::*;
    use super::*;

    #[test]
    fn affected_pairs_are_parsed_and_refusals_name_the_list() {
        let ok = parse_affected(&[("cmp_abc".into(), "major_outage".into())]);
        assert_eq!(ok.unwrap()[0].1, ComponentStatus::MajorOutage);
        for bad in [("cmp_abc", "broken"), ("not an id", "operational")] {
            let e = parse_affected(&[(bad.0.into(), bad.1.into())]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DomainError::Invalid {
                        field: "affected_components",
                        ..
                    }
                ),
                "{e}"
            );
        }
        let one = ("cmp_abc".to_owned(), "operational".to_owned());
        let twice = [one.clone(), one];
        assert!(parse_affected(&twice).is_err());
    }

    #[test]
    fn open_incidents_move_freely_and_resolved_ones_need_a_reopen() {
        assert!(Investigating.check_update(Monitoring).is_ok());
        assert!(Monitoring.check_update(Identified).is_ok());
        assert!(Identified.check_update(Resolved).is_ok());
        assert!(Resolved.check_update(Monitoring).is_err());
        assert!(Resolved.check_reopen(Investigating).is_ok());
        assert!(Resolved.check_reopen(Resolved).is_err());
        assert!(Monitoring.check_reopen(Investigating).is_err());
    }

    #[test]
    fn a_component_is_affected_once() {
        let c = ComponentId::generate();
        let twice = [
            (c.clone(), ComponentStatus::MajorOutage),
            (c, ComponentStatus::Operational),
        ];
        assert!(check_affected(&twice).is_err());
    }
}
