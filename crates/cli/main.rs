//! The `patrol` command. Thin: it parses arguments, calls the libraries and
//! renders what they return. Data goes to stdout; progress and logs to stderr.
//! Exit codes: 0 done, 1 done in part (some file failed, a check found
//! problems), 2 error.

mod args;
mod commands;
mod geojson;
mod manual;
mod output;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// What a command achieved.
pub enum Outcome {
    Done,
    Partial,
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Err(err) => {
            // A closed pipe (`patrol patrols | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            // Messages may quote text from files: escaped like every table cell.
            let message = format!("{err:#}");
            let _ = writeln!(
                stderr,
                "patrol: error: {}",
                patrol_report::table::escape(&message)
            );
            ExitCode::from(2)
        }
    }
}
