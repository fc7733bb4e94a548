//! `patrol serve`: the web app on this computer (patrol-serve does the work).

use std::path::Path;

use anyhow::Result;

use crate::Outcome;
use crate::args::ServeArgs;

pub fn run(db: &Path, a: &ServeArgs) -> Result<Outcome> {
    patrol_serve::run(
        &patrol_serve::Options {
            db: db.to_owned(),
            listen: a.listen.clone(),
            basemap: a.basemap.clone(),
        },
        |addr| eprintln!("listening on http://{addr}"),
    )?;
    Ok(Outcome::Done)
}
