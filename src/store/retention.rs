//! Retention: deletes finished rows older than their cut-off, in bounded batches. Each statement deletes
//! at most `batch` rows chosen by a sub-select, so a large backlog never becomes one long write that holds
//! SQLite's lock or bloats a PostgreSQL transaction; a run stops at `max_per_kind` rows per kind and
//! leaves the rest for the next run.

use time::OffsetDateTime;

use super::{Result, Store};
use crate::clock::to_millis;

const DAY_MS: i64 = 86_400_000;

/// The instant before which each kind of finished row goes; `None` keeps that kind.
#[derive(Clone, Copy, Debug)]
pub struct Cutoffs {
    pub page_views: OffsetDateTime,
    pub notifications: OffsetDateTime,
    pub oauth_codes: OffsetDateTime,
    pub refresh_tokens: OffsetDateTime,
    pub sessions: OffsetDateTime,
    pub invitations: OffsetDateTime,
    /// Used notify confirmations whose sealed state expired before this: a replay fails on expiry.
    pub confirmations: OffsetDateTime,
    /// Redeemed ID-JAG ids whose assertion expired before this (replays are refused as expired then).
    pub used_assertions: OffsetDateTime,
    pub audit: Option<OffsetDateTime>,
}

/// Rows deleted in one run, per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub page_views: u64,
    pub notifications: u64,
    pub oauth_codes: u64,
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub invitations: u64,
    pub confirmations: u64,
    pub used_assertions: u64,
    pub audit: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.page_views
            + self.notifications
            + self.oauth_codes
            + self.refresh_tokens
            + self.sessions
            + self.invitations
            + self.confirmations
            + self.used_assertions
            + self.audit
    }
}

// Each statement: `$1` the cut-off (unix ms; days since the epoch for page views), `$2` the batch size.
// Row values in `in (...)` work on SQLite (3.15+) and PostgreSQL alike.
const PAGE_VIEWS: &str = "delete from page_views where (page_id, day) in
    (select page_id, day from page_views where day < $1 limit $2)";
const NOTIFICATIONS: &str = "delete from notifications where notification_id in
    (select notification_id from notifications
     where state in ('delivered', 'dead') and updated_at < $1 limit $2)";
const OAUTH_CODES: &str = "delete from oauth_codes where code_hash in
    (select code_hash from oauth_codes where expires_at < $1 limit $2)";
const REFRESH_TOKENS: &str = "delete from oauth_refresh_tokens where token_hash in
    (select t.token_hash from oauth_refresh_tokens t join oauth_grants g on g.grant_id = t.grant_id
     where t.expires_at < $1 or g.revoked_at < $1 limit $2)";
const SESSIONS: &str = "delete from sessions where session_id in
    (select session_id from sessions where expires_at < $1 limit $2)";
const INVITATIONS: &str = "delete from invitations where invitation_id in
    (select invitation_id from invitations
     where expires_at < $1 or accepted_at < $1 or revoked_at < $1 limit $2)";
const CONFIRMATIONS: &str = "delete from used_confirmations where confirmation_id in
    (select confirmation_id from used_confirmations where expires_at < $1 limit $2)";
const USED_ASSERTIONS: &str = "delete from used_assertions where (issuer, jti) in
    (select issuer, jti from used_assertions where expires_at < $1 limit $2)";
const AUDIT: &str = "delete from audit_log where audit_id in
    (select audit_id from audit_log where created_at < $1 limit $2)";

impl Store {
    /// Deletes what the cut-offs allow, at most `max_per_kind` rows of each kind, `batch` per statement.
    pub async fn prune_retained(
        &self,
        cut: &Cutoffs,
        batch: u32,
        max_per_kind: u32,
    ) -> Result<Pruned> {
        let ms = to_millis;
        let mut out = Pruned {
            page_views: self
                .prune_batches(
                    PAGE_VIEWS,
                    ms(cut.page_views).div_euclid(DAY_MS),
                    batch,
                    max_per_kind,
                )
                .await?,
            ..Pruned::default()
        };
        out.notifications = self
            .prune_batches(NOTIFICATIONS, ms(cut.notifications), batch, max_per_kind)
            .await?;
        out.oauth_codes = self
            .prune_batches(OAUTH_CODES, ms(cut.oauth_codes), batch, max_per_kind)
            .await?;
        out.refresh_tokens = self
            .prune_batches(REFRESH_TOKENS, ms(cut.refresh_tokens), batch, max_per_kind)
            .await?;
        out.sessions = self
            .prune_batches(SESSIONS, ms(cut.sessions), batch, max_per_kind)
            .await?;
        out.invitations = self
            .prune_batches(INVITATIONS, ms(cut.invitations), batch, max_per_kind)
            .await?;
        out.confirmations = self
            .prune_batches(CONFIRMATIONS, ms(cut.confirmations), batch, max_per_kind)
            .await?;
        out.used_assertions = self
            .prune_batches(
                USED_ASSERTIONS,
                ms(cut.used_assertions),
                batch,
                max_per_kind,
            )
            .await?;
        if let Some(audit) = cut.audit {
            out.audit = self
                .prune_batches(AUDIT, ms(audit), batch, max_per_kind)
                .await?;
        }
        Ok(out)
    }

    /// Runs one delete statement until it deletes less than a full batch or the cap is reached. Each
    /// statement commits on its own (through the writer, so SQLite writers keep their queue order).
    async fn prune_batches(&self, sql: &str, cutoff: i64, batch: u32, cap: u32) -> Result<u64> {
        let mut total = 0u64;
        while total < u64::from(cap) {
            let done = sqlx::query(sql)
                .bind(cutoff)
                .bind(i64::from(batch))
                .execute(&self.writer)
                .await?
                .rows_affected();
            total += done;
            if done < u64::from(batch) {
                break;
            }
        }
        Ok(total)
    }
}
