use anyhow::{Context, Result, bail};
use patrol_core::Transport;
use patrol_store::Store;
use patrol_store::import::{Batching, ImportOptions, ImportReport, Status};

use crate::Outcome;
use crate::args::ImportArgs;
use crate::progress::{FileOutcome, Files};
use patrol_report::table::{Table, escape};

pub fn run(store: &mut Store, a: &ImportArgs, quiet: bool) -> Result<Outcome> {
    let transport: Transport = a.transport.into();
    let (smart, files) = split_smart(gpx_files(&a.files)?);
    if a.team.trim().is_empty() && !files.is_empty() {
        bail!("--team must name the team (a GPX file does not say who walked)");
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
    let mut progress = Files::new(files.len() + smart.len(), quiet, a.json);
    let ticker = progress.ticker();
    // Many files to a transaction: a file is reported once it is on disk.
    let run = store.import_files(
        &files,
        &opts,
        Batching::default(),
        &mut |file, points| {
            let detail = (points > 0).then(|| format!("{points} points"));
            ticker.working(file, detail.as_deref());
        },
        &mut |durable| durable.into_iter().for_each(|r| progress.done(r)),
    );
    if run.is_ok() {
        // SMART patrol files, each a transaction of its own.
        for path in &smart {
            ticker.working(path, None);
            progress.done(super::smart::import(store, path, &opts));
        }
    }
    let reports = progress.finish();
    if let Err(e) = run {
        // Show what was saved before the database stopped taking writes.
        print(&reports, a.json)?;
        return Err(e).context(format!(
            "stopped after {} of {} files",
            reports.len(),
            files.len() + smart.len()
        ));
    }
    print(&reports, a.json)?;
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

/// What import says of a file as it is done: its warnings, why it failed.
impl FileOutcome for ImportReport {
    fn notes(&self) -> Vec<String> {
        let warnings = self
            .warnings
            .iter()
            .map(|w| format!("patrol: warning: {}: {}", self.file, escape(&w.message)));
        let error = self
            .error
            .iter()
            .map(|e| format!("patrol: error: {}", escape(e)));
        warnings.chain(error).collect()
    }
}

/// The table of files (or their JSON objects) on stdout.
fn print(reports: &[ImportReport], json: bool) -> Result<()> {
    if json {
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
        ])
        .text(&["patrol"]);
        for r in reports {
            t.row(vec![
                r.file.clone(),
                super::word(&r.status),
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
    Ok(())
}

/// SMART patrol files (by their root element), and the others (GPX), each in order.
fn split_smart(
    files: Vec<std::path::PathBuf>,
) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    files
        .into_iter()
        .partition(|p| super::smart::is_smart_file(p))
}

/// The files to import: each file as given, and each folder's `*.gpx` files
/// and SMART `*.xml` files (any case, not in subfolders), in name order.
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
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("gpx")
                            || (x.eq_ignore_ascii_case("xml") && super::smart::is_smart_file(p))
                    })
            })
            .collect();
        if found.is_empty() {
            bail!(
                "{}: a folder with no .gpx files and no SMART patrol .xml files",
                path.display()
            );
        }
        found.sort();
        out.append(&mut found);
    }
    Ok(out)
}
