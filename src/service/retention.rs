//! Retention: turns the `[retention]` days into cut-offs at this instant and prunes. Every instance's
//! upkeep may run it at once; deleting an already deleted row is a no-op.

use time::Duration;

use super::{Result, Services};
use crate::config::RetentionConfig;
use crate::store::retention::{Cutoffs, Pruned};

impl Services {
    /// Deletes finished rows older than their configured age, within the per-run bounds.
    pub async fn prune_retention(&self, cfg: &RetentionConfig) -> Result<Pruned> {
        let now = self.clock.now();
        let ago = |days: u32| now - Duration::days(i64::from(days));
        let cut = Cutoffs {
            page_views: ago(cfg.page_view_days),
            notifications: ago(cfg.notification_days),
            oauth_codes: ago(cfg.oauth_code_days),
            refresh_tokens: ago(cfg.refresh_token_days),
            sessions: ago(cfg.session_days),
            invitations: ago(cfg.invitation_days),
            confirmations: now,
            // An assertion past its `exp` (and the leeway) is refused before its id is looked at.
            used_assertions: now - Duration::minutes(5),
            audit: cfg.audit_days.map(ago),
        };
        Ok(self
            .store
            .prune_retained(&cut, cfg.batch_size, cfg.max_per_run)
            .await?)
    }
}
