//! The registry as the engine's rounds see it: the centres and pools, kept between rounds and read again only when the store's registry change number moved (a city of 1,000 centres and 10,000 pools is not read every round).

use super::Engine;
use std::sync::Arc;
use suanli_core::centre::{Centre, Pool};
use suanli_store::StoreError;

/// The centres and pools as of a registry change number.
#[derive(Debug, Clone)]
pub(super) struct KeptRegistry {
    mark: i64,
    pub centres: Arc<Vec<Centre>>,
    pub pools: Arc<Vec<Pool>>,
}

impl Engine {
    /// The centres (with their declared PUE as registered) and pools as the store has them
    /// now: the kept copy while the registry's change number stands, else read again.
    pub(super) async fn registry(&self) -> Result<KeptRegistry, StoreError> {
        // The mark first: a write that commits after it moves it again, so the next round reads.
        let mark = self.store.registry_mark().await?;
        if let Some(kept) = self.kept_registry.lock().unwrap_or_else(|e| e.into_inner()).as_ref().filter(|k| k.mark == mark) {
            return Ok(kept.clone());
        }
        let (centres, pools) = tokio::try_join!(self.store.centres(None), self.store.pools())?;
        let kept = KeptRegistry { mark, centres: Arc::new(centres), pools: Arc::new(pools) };
        *self.kept_registry.lock().unwrap_or_else(|e| e.into_inner()) = Some(kept.clone());
        Ok(kept)
    }

    /// Forgets the kept registry: the next round reads it in full.
    pub(super) fn forget_registry(&self) {
        *self.kept_registry.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
