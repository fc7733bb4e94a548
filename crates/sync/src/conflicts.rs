//! Records edited on two devices: more than one head (listed by the store,
//! beside `Store::resolve_conflict`).

use patrol_store::Store;
pub use patrol_store::conflicts::{Conflict, ConflictHead};

use crate::SyncError;

/// Every record with more than one head, and every record whose versions'
/// parents form a cycle: [`Store::conflicts`], with the database's path in
/// the error.
pub fn conflicts(store: &Store) -> Result<Vec<Conflict>, SyncError> {
    store.conflicts().map_err(SyncError::store(store.path()))
}
