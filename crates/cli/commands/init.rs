use std::path::Path;

use anyhow::{Context, Result};
use patrol_core::category::DataModel;
use patrol_report::table::escape;
use patrol_store::Store;

use crate::Outcome;
use crate::args::InitArgs;

pub fn run(db: &Path, a: &InitArgs) -> Result<Outcome> {
    if let Some(template) = &a.join {
        let store = Store::init_joining(db, template)?;
        eprintln!(
            "created {} for site {} ({}), joined from {}, device {}",
            db.display(),
            escape(&store.site().name),
            escape(&store.site().timezone),
            template.display(),
            store.device()
        );
        return Ok(Outcome::Done);
    }
    let (Some(site), Some(timezone)) = (&a.site, &a.timezone) else {
        anyhow::bail!("give --site and --timezone, or --join a database of the site");
    };
    let model = match &a.data_model {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            DataModel::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => DataModel::default_model(),
    };
    let store = Store::init(db, site, timezone, &model)?;
    eprintln!(
        "created {} for site {} ({}), device {}",
        db.display(),
        store.site().name,
        store.site().timezone,
        store.device()
    );
    Ok(Outcome::Done)
}
