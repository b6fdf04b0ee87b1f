//! The values tool arguments are made of: ids checked for their shape, clamped counts, instants,
//! messages, and the enums of stages, states and statuses with their domain counterparts.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de;
use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;

use crate::domain::{ComponentStatus, IncidentStage, MaintenanceState, Message};
use crate::ids::{ComponentId, IncidentId, MaintenanceId, PageId};

/// An id of one kind, checked for its shape when the arguments are read.
pub struct Id<T>(pub T);

/// The id kinds tools take, with what the model is told about each.
pub trait IdKind: Sized {
    const DESCRIPTION: Option<&'static str>;
    fn parse(raw: &str) -> Option<Self>;
}

macro_rules! id_kind {
    ($t:ty, $description:expr) => {
        impl IdKind for $t {
            const DESCRIPTION: Option<&'static str> = $description;
            fn parse(raw: &str) -> Option<Self> {
                <$t>::parse(raw)
            }
        }
    };
}

id_kind!(
    PageId,
    Some("Status page id from list_status_pages, e.g. pg_1a2b…")
);
id_kind!(IncidentId, None);
id_kind!(MaintenanceId, None);
id_kind!(ComponentId, None);

/// Reads a string and hands it to `parse` without copying it first; `parse` says what is wrong.
fn from_str<'de, D: Deserializer<'de>, T>(
    d: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    struct Text<F>(F);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> de::Visitor<'de> for Text<F> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(Text(parse))
}

impl<'de, T: IdKind> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d, |raw| {
            T::parse(raw)
                .map(Id)
                .ok_or_else(|| format!("`{raw}` is not a valid id"))
        })
    }
}

impl<T: IdKind> JsonSchema for Id<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Id".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        match T::DESCRIPTION {
            Some(d) => json_schema!({ "type": "string", "description": d }),
            None => json_schema!({ "type": "string" }),
        }
    }
}

/// A whole number clamped into `1..=MAX` (a larger or smaller one is not an error), `DEFAULT` when absent.
#[derive(Clone, Copy)]
pub struct Count<const DEFAULT: i64, const MAX: i64>(pub i64);

impl<const DEFAULT: i64, const MAX: i64> Count<DEFAULT, MAX> {
    pub fn or_default(c: Option<Self>) -> i64 {
        c.map_or(DEFAULT, |c| c.0)
    }
}

impl<'de, const DEFAULT: i64, const MAX: i64> Deserialize<'de> for Count<DEFAULT, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d)
            .map(|n| Self(n.clamp(1, MAX)))
            .map_err(|_| de::Error::custom(format_args!("must be a whole number from 1 to {MAX}")))
    }
}

impl<const DEFAULT: i64, const MAX: i64> JsonSchema for Count<DEFAULT, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Count_{DEFAULT}_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 1, "maximum": MAX, "default": DEFAULT })
    }
}

/// Items per answer: 20 unless asked, at most 200.
pub type Limit = Count<20, 200>;

/// An RFC 3339 instant.
pub struct Instant(pub OffsetDateTime);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d, |raw| {
            OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map(Instant)
                .map_err(|_| "must be an RFC 3339 time like 2026-11-22T14:00:00Z".to_owned())
        })
    }
}

impl JsonSchema for Instant {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Instant".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

pub(super) fn message<'de, D: Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
    from_str(d, |raw| {
        Message::parse("message", raw).map_err(|e| e.to_string())
    })
}

// The stages an incident may open in. (Plain comments on these types: a doc comment would be
// served to the model as the field's description.)
#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpenStage {
    Investigating,
    Identified,
    Monitoring,
}

impl From<OpenStage> for IncidentStage {
    fn from(s: OpenStage) -> Self {
        match s {
            OpenStage::Investigating => Self::Investigating,
            OpenStage::Identified => Self::Identified,
            OpenStage::Monitoring => Self::Monitoring,
        }
    }
}

// Any stage an update may move an incident to.
#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl From<Stage> for IncidentStage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Investigating => Self::Investigating,
            Stage::Identified => Self::Identified,
            Stage::Monitoring => Self::Monitoring,
            Stage::Resolved => Self::Resolved,
        }
    }
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl From<State> for MaintenanceState {
    fn from(s: State) -> Self {
        match s {
            State::Scheduled => Self::Scheduled,
            State::InProgress => Self::InProgress,
            State::Completed => Self::Completed,
            State::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

impl From<Status> for ComponentStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Operational => Self::Operational,
            Status::DegradedPerformance => Self::DegradedPerformance,
            Status::PartialOutage => Self::PartialOutage,
            Status::MajorOutage => Self::MajorOutage,
            Status::UnderMaintenance => Self::UnderMaintenance,
        }
    }
}

// A component and the status an update puts it in.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    pub component_id: Id<ComponentId>,
    pub status: Status,
}

/// `[{component_id, status}]` as the services take it.
pub fn affected(list: Vec<Affected>) -> Vec<(ComponentId, ComponentStatus)> {
    list.into_iter()
        .map(|a| (a.component_id.0, a.status.into()))
        .collect()
}

// Which incidents `list_incidents` shows.
#[derive(Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Incidents {
    #[default]
    Active,
    Resolved,
    Draft,
}

// Which maintenances `list_maintenances` shows.
#[derive(Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Maintenances {
    Active,
    #[default]
    Upcoming,
    Past,
    Scheduled,
    Draft,
}
