//! `patrol history ID`: every version of a record, oldest first.

use anyhow::Result;
use patrol_report::table::Table;
use patrol_store::Store;

use crate::Outcome;
use crate::args::HistoryArgs;

pub fn run(store: &Store, a: &HistoryArgs) -> Result<Outcome> {
    let (kind, id) = store.resolve_any(&a.id)?;
    let history = store.history(kind, &id)?;
    if a.json {
        super::json(&history)?;
        return Ok(Outcome::Done);
    }
    let short = |v: &str| patrol_core::ids::short_id(v).to_owned();
    let mut t = Table::new(&[
        "version",
        "made (UTC)",
        "device",
        "follows",
        "state",
        "content",
    ])
    .text(&["version", "device", "follows"]);
    for v in &history.versions {
        t.row(vec![
            v.version_id.clone(),
            v.time.clone(),
            short(&v.device_id),
            v.parents
                .iter()
                .map(|p| short(p))
                .collect::<Vec<_>>()
                .join(", "),
            v.state(),
            if v.deleted {
                "(deleted)".into()
            } else {
                v.summary.clone()
            },
        ]);
    }
    super::out(&t.render())?;
    let n = history.versions.len();
    eprintln!(
        "{} {}: {n} version{}{}",
        history.kind,
        history.short_id,
        if n == 1 { "" } else { "s" },
        if history.deleted {
            format!(
                "; deleted (restore it with `patrol restore {} {}`)",
                history.kind, history.short_id
            )
        } else {
            String::new()
        }
    );
    Ok(Outcome::Done)
}
