//! Actions proposed by monitors, and the compare-and-set that decides each one once.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::monitor::{ActionKind, ActionState, PendingAction};
use crate::domain::ComponentStatus;
use crate::ids::{ComponentId, MonitorId, PageId, PendingActionId};

const COLS: &str =
    "action_id, page_id, monitor_id, component_id, kind, status, reason, state, decided_by,
    decision_note, created_at";

fn action_from(r: &AnyRow) -> Result<PendingAction> {
    Ok(PendingAction {
        id: PendingActionId::from_db(row::text(r, "action_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        monitor_id: row::opt_text(r, "monitor_id")?.map(MonitorId::from_db),
        component_id: ComponentId::from_db(row::text(r, "component_id")?),
        kind: row::parsed(r, "kind", ActionKind::parse)?,
        status: row::parsed(r, "status", ComponentStatus::parse)?,
        reason: row::text(r, "reason")?,
        state: row::parsed(r, "state", ActionState::parse)?,
        decided_by: row::opt_text(r, "decided_by")?,
        decision_note: row::opt_text(r, "decision_note")?,
        created_at: row::instant(r, "created_at")?,
    })
}

impl Store {
    pub async fn insert_pending_action(&self, tx: &mut Tx, a: &PendingAction) -> Result<()> {
        const SQL: &str = "insert into pending_actions (action_id, page_id, monitor_id, component_id, kind,
            status, reason, state, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        sqlx::query(SQL)
            .bind(a.id.as_str())
            .bind(a.page_id.as_str())
            .bind(a.monitor_id.as_ref().map(|m| m.as_str().to_owned()))
            .bind(a.component_id.as_str())
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(&a.reason)
            .bind(a.state.as_str())
            .bind(to_millis(a.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn pending_action(&self, id: &PendingActionId) -> Result<PendingAction> {
        let sql = format!("select {COLS} from pending_actions where action_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        action_from(&r)
    }

    /// Actions of a page in `state` (all states when `None`), newest first.
    pub async fn pending_actions(
        &self,
        page: &PageId,
        state: Option<ActionState>,
        limit: i64,
    ) -> Result<Vec<PendingAction>> {
        let sql = format!(
            "select {COLS} from pending_actions where page_id = $1 and ($2 = '' or state = $2)
             order by created_at desc, action_id limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(state.map(ActionState::as_str).unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(action_from).collect()
    }

    /// Moves a pending action to `to`; false when someone else decided it first.
    pub async fn decide_action(
        &self,
        tx: &mut Tx,
        id: &PendingActionId,
        to: ActionState,
        by: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str =
            "update pending_actions set state = $1, decided_by = $2, decision_note = $3,
            decided_at = $4, updated_at = $4 where action_id = $5 and state = 'pending'";
        let done = sqlx::query(SQL)
            .bind(to.as_str())
            .bind(by)
            .bind(note.map(str::to_owned))
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts an approved action back to pending when performing it failed.
    pub async fn undo_decision(&self, id: &PendingActionId) -> Result<()> {
        const SQL: &str =
            "update pending_actions set state = 'pending', decided_by = null, decided_at = null
            where action_id = $1";
        sqlx::query(SQL)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
