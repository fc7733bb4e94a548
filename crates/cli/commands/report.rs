use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use patrol_store::Store;

use crate::Outcome;

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[arg(long)]
    pub month: Option<String>,
}

pub fn run(_store: &Store, _a: &ReportArgs) -> Result<Outcome> {
    anyhow::bail!("not yet")
}

pub fn demo_report(_store: &Store, dir: &Path) -> Result<PathBuf> {
    Ok(dir.join("report.html"))
}
