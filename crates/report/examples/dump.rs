//! Writes the renderers' hand-built sample report in every format, for a
//! look by eye:
//!
//! `cargo run -p patrol-report --example dump -- DIR` writes
//! `DIR/sample.text`, `sample.json`, `sample.csv` and `sample.html`.

#![allow(clippy::print_stderr)]

#[path = "../src/sample.rs"]
#[allow(dead_code)]
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: dump DIR");
        return ExitCode::from(2);
    };
    let report = sample::report();
    for format in patrol_report::Format::ALL {
        let path = dir.join(format!("sample.{}", format.as_str()));
        if let Err(e) = std::fs::write(&path, patrol_report::render(&report, format)) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
