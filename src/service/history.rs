//! A page's past: its maintenances by state, latest first, one page of a listing at a time.

use super::{Principal, Result, Services};
use crate::domain::{Maintenance, MaintenanceState, Permission};
use crate::ids::PageId;

impl Services {
    /// Maintenances of `page` in `state` (all when `None`), latest window first, from `offset` on,
    /// at most `limit + 1` so the caller sees whether more follow.
    pub async fn maintenance_history(
        &self,
        who: &Principal,
        page: &PageId,
        state: Option<MaintenanceState>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Maintenance>> {
        self.page_for(who, page, Permission::MaintenanceRead)
            .await?;
        let offset = offset.clamp(0, super::audit::MAX_OFFSET);
        Ok(self
            .store
            .maintenance_history(page, state, offset, limit + 1)
            .await?)
    }
}
