//! `patrol quarantine`: rows merges set aside (an id reused with other
//! content, a disputed device), and a person's decision on each.

use anyhow::Result;
use clap::{Args, Subcommand};
use patrol_store::Store;

use crate::Outcome;
use patrol_report::table::Table;

#[derive(Args, Debug)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    pub command: Option<QuarantineCommand>,
    /// Also list rows already decided on.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// Decide a set-aside row is not wanted (the row held here stays as it is).
    Drop {
        /// The number `patrol quarantine` lists.
        id: i64,
    },
}

pub fn run(store: &mut Store, a: &QuarantineArgs) -> Result<Outcome> {
    if let Some(QuarantineCommand::Drop { id }) = &a.command {
        store.drop_quarantined(*id)?;
        eprintln!("quarantined row {id} dropped; the row held here is kept");
        return Ok(Outcome::Done);
    }
    let rows = store.quarantined(a.all)?;
    if a.json {
        super::json(&rows)?;
        return Ok(Outcome::Done);
    }
    if rows.is_empty() {
        eprintln!("no rows wait in quarantine");
        return Ok(Outcome::Done);
    }
    let mut t =
        Table::new(&["id", "table", "row", "file", "reason", "decision"]).text(&["row", "file"]);
    for r in &rows {
        t.row(vec![
            r.id.to_string(),
            r.table.clone(),
            r.row_id.clone(),
            r.file_digest.chars().take(16).collect(),
            r.reason.clone(),
            r.decision.clone().unwrap_or_default(),
        ]);
    }
    super::out(&t.render())?;
    eprintln!(
        "{} rows; `patrol quarantine --json` shows each incoming row; `patrol quarantine drop ID` records that one is not wanted",
        rows.len()
    );
    Ok(Outcome::Done)
}
