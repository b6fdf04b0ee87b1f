//! Analytics over a window of days: uptime per monitor and component from check events, incidents and
//! their mean time to resolve, maintenance minutes, and anonymous page views. Also the 90-day bars.

use std::collections::HashMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::{Principal, Result, Services};
use crate::clock::to_millis;
use crate::domain::{DomainError, Permission};
use crate::ids::{ComponentId, MonitorId, PageId};
use crate::store::analytics::Tally;

pub const DEFAULT_WINDOW_DAYS: i64 = 30;
pub const MAX_WINDOW_DAYS: i64 = 90;
pub const BAR_DAYS: i64 = 90;

#[derive(Clone, Debug, Serialize)]
pub struct Uptime {
    pub id: String,
    pub name: String,
    pub checks: i64,
    /// `None` when nothing was checked in the window.
    pub uptime_percent: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnalyticsSummary {
    pub window_days: i64,
    pub monitors: Vec<Uptime>,
    pub components: Vec<Uptime>,
    pub incident_count: i64,
    /// Mean minutes from start to resolution over the window's resolved incidents.
    pub mean_time_to_resolve_minutes: Option<f64>,
    pub maintenance_minutes: i64,
    pub page_views: i64,
}

/// One day of a component's uptime bar.
#[derive(Clone, Debug)]
pub struct DayBar {
    pub day: OffsetDateTime,
    pub uptime_percent: Option<f64>,
}

fn percent(t: Tally) -> Option<f64> {
    (t.total > 0).then(|| (t.ok as f64) * 100.0 / (t.total as f64))
}

impl Services {
    pub async fn analytics_summary(
        &self,
        who: &Principal,
        page_id: &PageId,
        window_days: Option<i64>,
    ) -> Result<AnalyticsSummary> {
        self.page_for(who, page_id, Permission::AnalyticsRead)
            .await?;
        let window_days = window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
            return Err(DomainError::invalid(
                "window_days",
                format!("must be between 1 and {MAX_WINDOW_DAYS}"),
            )
            .into());
        }
        let now = self.clock.now();
        let since = now - Duration::days(window_days);
        let monitors = self.store.monitors_of_page(page_id).await?;
        let tallies: HashMap<MonitorId, Tally> = self
            .store
            .monitor_tallies(page_id, since)
            .await?
            .into_iter()
            .collect();
        let mut by_component: HashMap<ComponentId, Tally> = HashMap::new();
        let mut monitor_rows = Vec::new();
        for m in &monitors {
            let t = tallies.get(&m.id).copied().unwrap_or_default();
            if let Some(c) = &m.spec.component_id {
                let e = by_component.entry(c.clone()).or_default();
                e.total += t.total;
                e.ok += t.ok;
            }
            monitor_rows.push(Uptime {
                id: m.id.to_string(),
                name: m.spec.name.clone(),
                checks: t.total,
                uptime_percent: percent(t),
            });
        }
        let components = self
            .store
            .components(page_id)
            .await?
            .into_iter()
            .filter_map(|c| {
                let t = by_component.get(&c.id).copied()?;
                Some(Uptime {
                    id: c.id.to_string(),
                    name: c.name,
                    checks: t.total,
                    uptime_percent: percent(t),
                })
            })
            .collect();
        let spans = self.store.spans_since(page_id, since).await?;
        let resolved: Vec<i64> = spans
            .incidents
            .iter()
            .filter_map(|(s, r)| r.map(|r| r - s))
            .collect();
        let mttr = (!resolved.is_empty())
            .then(|| resolved.iter().sum::<i64>() as f64 / resolved.len() as f64 / 60_000.0);
        let (from, to) = (to_millis(since), to_millis(now));
        let maintenance_ms: i64 = spans
            .maintenances
            .iter()
            .map(|(s, e)| ((*e).min(to) - (*s).max(from)).max(0))
            .sum();
        Ok(AnalyticsSummary {
            window_days,
            monitors: monitor_rows,
            components,
            incident_count: spans.incidents.len() as i64,
            mean_time_to_resolve_minutes: mttr,
            maintenance_minutes: maintenance_ms / 60_000,
            page_views: self.store.page_views_since(page_id, since).await?,
        })
    }

    /// Per component with a monitor, 90 daily bars ending today (oldest first). Public data.
    pub async fn uptime_bars(&self, page_id: &PageId) -> Result<HashMap<ComponentId, Vec<DayBar>>> {
        let now = self.clock.now();
        let today = to_millis(now).div_euclid(86_400_000);
        let first = today - (BAR_DAYS - 1);
        let since = crate::clock::from_millis(first * 86_400_000);
        let mut out: HashMap<ComponentId, Vec<DayBar>> = HashMap::new();
        for m in self.store.monitors_of_page(page_id).await? {
            if let Some(c) = m.spec.component_id {
                out.entry(c).or_insert_with(|| {
                    (first..=today)
                        .map(|d| DayBar {
                            day: crate::clock::from_millis(d * 86_400_000),
                            uptime_percent: None,
                        })
                        .collect()
                });
            }
        }
        let mut sums: HashMap<(ComponentId, i64), Tally> = HashMap::new();
        for (c, day, t) in self.store.component_daily_tallies(page_id, since).await? {
            let e = sums.entry((c, day)).or_default();
            e.total += t.total;
            e.ok += t.ok;
        }
        for ((c, day), t) in sums {
            let idx = usize::try_from(day - first).ok();
            if let (Some(bars), Some(i)) = (out.get_mut(&c), idx) {
                if let Some(b) = bars.get_mut(i) {
                    b.uptime_percent = percent(t);
                }
            }
        }
        Ok(out)
    }
}
