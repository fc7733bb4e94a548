//! One module per command; `run` dispatches.

mod check;
mod demo;
mod edit;
mod exports;
mod history;
mod import;
mod init;
mod model;
pub mod observations;
mod observe;
mod patrols;
pub mod quarantine;
pub mod report;
mod serve;
mod smart;
mod sync;
mod user;

use anyhow::{Context, Result};
use patrol_store::Store;

use crate::Outcome;
use crate::args::{BoundaryCommand, Cli, Command, SiteCommand};

pub fn run(cli: Cli) -> Result<Outcome> {
    let db = &cli.db;
    match cli.command {
        Command::Init(a) => init::run(db, &a),
        Command::Import(a) => import::run(&mut open_to_write(db)?, &a, cli.quiet),
        Command::Patrols(a) => patrols::list(&open(db)?, &a),
        Command::Show(a) => patrols::show(&open(db)?, &a),
        Command::Observations(a) => observations::run(&open(db)?, &a),
        Command::Observe(a) => observe::run(&mut open_to_write(db)?, &a),
        Command::Check(a) => check::run(&open(db)?, a.json),
        Command::Report(mut a) => {
            // `--json` is `--format json` (clap refuses both together).
            if a.json {
                a.format = crate::args::FormatArg::Json;
            }
            report::run(&open(db)?, &a)
        }
        Command::Site {
            command:
                SiteCommand::Boundary {
                    command: BoundaryCommand::Set { file },
                },
        } => {
            let polygons = crate::geojson::read_boundary(&file)?;
            let mut store = open_to_write(db)?;
            store.set_boundary(&polygons)?;
            eprintln!(
                "boundary of {} set: {} polygon(s)",
                store.site().name,
                polygons.len()
            );
            Ok(Outcome::Done)
        }
        Command::Edit { what, json } => edit::edit(&mut open_to_write(db)?, &what, json),
        Command::Delete { what, json } => edit::delete(&mut open_to_write(db)?, &what, json),
        Command::Restore { what, json } => edit::restore(&mut open_to_write(db)?, &what, json),
        Command::History(a) => history::run(&open(db)?, &a),
        // GeoJSON, CSV and GPX, and the flags each format takes.
        Command::Export(a) if exports::handles(&a) => exports::run(&open(db)?, &a),
        Command::Export(a) if a.format == crate::args::ExportFormat::Smart => {
            smart::export(&open(db)?, &a)
        }
        Command::Export(a) => sync::export(&mut open(db)?, &a),
        Command::Merge(a) => sync::merge(
            &mut open_to_write(a.into.as_deref().unwrap_or(db))?,
            &a,
            cli.quiet,
        ),
        Command::Ledger(a) => sync::ledger(&open(db)?, a.json),
        Command::Conflicts(a) => {
            let mut store = if a.command.is_some() {
                open_to_write(db)?
            } else {
                open(db)?
            };
            sync::conflicts(&mut store, &a)
        }
        Command::Quarantine(a) => {
            let mut store = if a.command.is_some() {
                open_to_write(db)?
            } else {
                open(db)?
            };
            quarantine::run(&mut store, &a)
        }
        Command::User { command } => {
            let mut store = if matches!(command, crate::args::UserCommand::List { .. }) {
                open(db)?
            } else {
                open_to_write(db)?
            };
            user::run(&mut store, &command)
        }
        Command::DataModel { command } => {
            let mut store = if matches!(command, crate::args::DataModelCommand::Import { .. }) {
                open_to_write(db)?
            } else {
                open(db)?
            };
            model::run(&mut store, &command)
        }
        Command::Demo(a) => demo::run(&a, cli.quiet),
        Command::Completions { shell } => {
            out(&String::from_utf8_lossy(&crate::manual::completions(shell)))?;
            Ok(Outcome::Done)
        }
        Command::Man => {
            out(&String::from_utf8_lossy(&crate::manual::man_page()?))?;
            Ok(Outcome::Done)
        }
        // patrol serve
        Command::Serve(a) => serve::run(db, &a),
    }
}

fn open(db: &std::path::Path) -> Result<Store> {
    Store::open(db)
        .with_context(|| "cannot open the database (give --db or set PATROL_DB)".to_string())
}

/// Open the database for a command that writes to it: a file that cannot
/// be written is one clear error, before any work.
fn open_to_write(db: &std::path::Path) -> Result<Store> {
    let read_only = std::fs::metadata(db).is_ok_and(|m| m.permissions().readonly());
    let store = open(db)?;
    if read_only || !store.writable() {
        anyhow::bail!(
            "{}: the database is read-only; nothing was changed (make the file and its folder writable, e.g. chmod u+w, or work on a copy)",
            db.display()
        );
    }
    Ok(store)
}

/// Print to stdout; a closed pipe surfaces as an io::Error that main treats as success.
pub fn out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

pub fn json<T: serde::Serialize>(value: &T) -> Result<()> {
    out(&(serde_json::to_string_pretty(value)? + "\n"))
}

/// A status or kind as the word its JSON uses (`"imported"`, `"problem"`),
/// for tables: never Rust's Debug spelling.
pub fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}
