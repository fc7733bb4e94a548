use std::path::Path;

use anyhow::{Context, Result};
use patrol_core::category::DataModel;
use patrol_store::Store;

use crate::Outcome;
use crate::args::InitArgs;

pub fn run(db: &Path, a: &InitArgs) -> Result<Outcome> {
    let model = match &a.data_model {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            DataModel::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => DataModel::default_model(),
    };
    let store = Store::init(db, &a.site, &a.timezone, &model)?;
    eprintln!(
        "created {} for site {} ({}), device {}",
        db.display(),
        store.site().name,
        store.site().timezone,
        store.device()
    );
    Ok(Outcome::Done)
}
