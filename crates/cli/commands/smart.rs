//! SMART's patrol XML: `patrol export --format smart` (a patrol to a file,
//! or the patrols of a period to a folder, a file each), and the reading of
//! SMART files for `patrol import`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use patrol_store::Store;
use serde::Serialize;

use crate::Outcome;
use crate::args::ExportArgs;
use crate::output::Output;

/// What one file written holds (`export --format smart --json`'s objects).
#[derive(Serialize)]
struct Written {
    file: String,
    patrol_id: String,
    legs: usize,
    days: usize,
    fixes: usize,
    observations: usize,
}

pub fn export(store: &Store, a: &ExportArgs) -> Result<Outcome> {
    let output = Output::new(Some(store.path()), a.force);
    let mut written = Vec::new();
    match (&a.patrol, &a.out, &a.out_dir) {
        (Some(id), Some(out), None) => {
            written.push(write_one(store, &output, id, out)?);
        }
        (None, None, Some(dir)) => {
            let (Some(from), Some(to)) = (a.from, a.to) else {
                bail!("--out-dir needs --from D and --to D (the patrols of that period)");
            };
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot make the folder {}", dir.display()))?;
            for p in store.patrols(Some((from, to)))? {
                let file = dir.join(format!("patrol-{}.xml", p.short_id));
                written.push(write_one(store, &output, &p.patrol_id, &file)?);
            }
        }
        _ => bail!(
            "--format smart writes --patrol ID --out FILE.xml, or --from D --to D --out-dir DIR"
        ),
    }
    if a.json {
        super::json(&written)?;
    } else {
        for w in &written {
            eprintln!(
                "wrote {}: patrol {}, {} legs, {} days, {} fixes, {} observations",
                w.file,
                patrol_core::ids::short_id(&w.patrol_id),
                w.legs,
                w.days,
                w.fixes,
                w.observations
            );
        }
        if written.is_empty() {
            eprintln!("no patrol in that period: nothing written");
        }
    }
    Ok(Outcome::Done)
}

fn write_one(store: &Store, output: &Output, id: &str, out: &Path) -> Result<Written> {
    let patrol = store.recorded_patrol(id)?;
    let xml = patrol_smart::write_patrol_with(&patrol, Some(&store.data_model()?));
    output.write(out, xml.as_bytes())?;
    Ok(Written {
        file: out.display().to_string(),
        patrol_id: patrol.id.clone().unwrap_or_default(),
        legs: patrol.legs.len(),
        days: patrol.legs.iter().map(|l| l.days.len()).sum(),
        fixes: patrol.fixes().count(),
        observations: patrol.observations().count(),
    })
}

/// Whether a file is SMART patrol XML, and the import of one: in
/// patrol-serve, whose uploads are imported the same way.
pub use patrol_serve::{import_smart_file as import, is_smart_file};
