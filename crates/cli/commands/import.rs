use anyhow::{Context, Result, bail};
use patrol_core::Transport;
use patrol_store::Store;
use patrol_store::import::{ImportOptions, ImportReport, Status};

use crate::Outcome;
use crate::args::ImportArgs;
use patrol_report::table::{Table, escape};

pub fn run(store: &mut Store, a: &ImportArgs, quiet: bool) -> Result<Outcome> {
    let transport: Transport = a.transport.into();
    if a.team.trim().is_empty() {
        bail!("--team must name the team");
    }
    let opts = ImportOptions {
        team: a.team.trim().to_owned(),
        transport,
        members: a.members,
        member_names: a
            .member_names
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        leader: a.leader.clone(),
        objective: a.objective.clone(),
        date: a.date,
        assume_zone: a
            .assume_zone
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow::anyhow!("--assume-zone: {e}"))?,
        patrol: a.patrol.clone(),
    };
    let files = gpx_files(&a.files)?;
    let bar = crate::progress::files(files.len(), quiet);
    let mut reports = Vec::new();
    for file in &files {
        bar.set_message(format!("{}", file.display()));
        let report = store
            .import_gpx(file, &opts, &mut |points| {
                bar.set_message(format!("{}: {points} points", file.display()));
            })
            .unwrap_or_else(|e| ImportReport::failed(file, &e));
        bar.inc(1);
        if !a.json {
            bar.suspend(|| {
                for w in &report.warnings {
                    eprintln!(
                        "patrol: warning: {}: {}",
                        file.display(),
                        escape(&w.message)
                    );
                }
                if let Some(e) = &report.error {
                    eprintln!("patrol: error: {}", escape(e));
                }
            });
        }
        reports.push(report);
    }
    bar.finish_and_clear();
    if a.json {
        super::json(&reports)?;
    } else {
        let mut t = Table::new(&[
            "file",
            "status",
            "patrol",
            "points",
            "segments",
            "km",
            "observations",
            "first time",
        ]);
        for r in &reports {
            t.row(vec![
                r.file.clone(),
                format!("{:?}", r.status).to_lowercase(),
                r.patrol_id.as_deref().map_or_else(
                    || "-".into(),
                    |id| patrol_core::ids::short_id(id).to_owned(),
                ),
                r.track_points.to_string(),
                r.segments.to_string(),
                format!("{:.3}", r.counted_length_m / 1000.0),
                r.observations.to_string(),
                r.first_time.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        super::out(&t.render())?;
    }
    let failed = reports
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    Ok(if failed > 0 {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}

/// The files to import: each file as given, and each folder's `*.gpx` files
/// (any case, not in subfolders), in name order.
fn gpx_files(paths: &[std::path::PathBuf]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("gpx")))
            .collect();
        if found.is_empty() {
            bail!("{}: a folder with no .gpx files", path.display());
        }
        found.sort();
        out.append(&mut found);
    }
    Ok(out)
}
