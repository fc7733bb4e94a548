//! `patrol demo`: the whole job on shipped sample data, from any directory.
//! Two outposts import their patrols; (with sync) the site office merges them;
//! the monthly report is written with its baseline and coverage.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use patrol_core::category::DataModel;
use patrol_store::Store;
use patrol_store::import::{ImportOptions, Status};

use crate::Outcome;
use crate::args::DemoArgs;
use crate::output::Output;

/// (outpost, team, file name, content): the files of data/samples.
const SAMPLES: &[(&str, &str, &str, &str)] = &[
    (
        "outpost-a",
        "Alpha",
        "2025-10-06-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2025-10-06-alpha-foot.gpx"),
    ),
    (
        "outpost-a",
        "Alpha",
        "2025-11-12-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2025-11-12-alpha-foot.gpx"),
    ),
    (
        "outpost-a",
        "Alpha",
        "2026-01-20-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2026-01-20-alpha-foot.gpx"),
    ),
    (
        "outpost-a",
        "Alpha",
        "2026-10-01-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2026-10-01-alpha-foot.gpx"),
    ),
    (
        "outpost-a",
        "Alpha",
        "2026-10-17-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2026-10-17-alpha-foot.gpx"),
    ),
    (
        "outpost-a",
        "Alpha",
        "2026-10-31-alpha-foot.gpx",
        include_str!("../../../data/samples/outpost-a/2026-10-31-alpha-foot.gpx"),
    ),
    (
        "outpost-b",
        "Bravo",
        "2025-12-03-bravo-vehicle.gpx",
        include_str!("../../../data/samples/outpost-b/2025-12-03-bravo-vehicle.gpx"),
    ),
    (
        "outpost-b",
        "Bravo",
        "2026-02-14-bravo-boat.gpx",
        include_str!("../../../data/samples/outpost-b/2026-02-14-bravo-boat.gpx"),
    ),
    (
        "outpost-b",
        "Bravo",
        "2026-03-09-bravo-foot.gpx",
        include_str!("../../../data/samples/outpost-b/2026-03-09-bravo-foot.gpx"),
    ),
    (
        "outpost-b",
        "Bravo",
        "2026-10-08-bravo-vehicle.gpx",
        include_str!("../../../data/samples/outpost-b/2026-10-08-bravo-vehicle.gpx"),
    ),
];

pub const BOUNDARY: &str = include_str!("../../../data/samples/thap-lan-boundary.geojson");

const OUTPOSTS: [&str; 2] = ["outpost-a", "outpost-b"];

/// Write the sample files under `dir/gps/<outpost>/` and return their paths.
fn write_samples(
    dir: &Path,
    output: &Output,
) -> Result<Vec<(&'static str, &'static str, PathBuf)>> {
    let mut out = Vec::new();
    for (outpost, team, name, text) in SAMPLES {
        let folder = dir.join("gps").join(outpost);
        std::fs::create_dir_all(&folder).with_context(|| folder.display().to_string())?;
        let path = folder.join(name);
        output.write(&path, text.as_bytes())?;
        out.push((*outpost, *team, path));
    }
    Ok(out)
}

/// Every file the demo writes in `dir`: all are checked before the first is
/// written, so an existing database (or, without --force, any existing file)
/// stops the demo before it changes anything.
/// The files a demo makes in its folder.
fn demo_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths = vec![dir.join("thaplan.gpkg")];
    for outpost in OUTPOSTS {
        paths.push(dir.join(format!("{outpost}.gpkg")));
        paths.push(dir.join(format!("{outpost}-export.gpkg")));
    }
    paths.extend(
        SAMPLES
            .iter()
            .map(|(outpost, _, name, _)| dir.join("gps").join(outpost).join(name)),
    );
    paths.push(dir.join("thap-lan-boundary.geojson"));
    paths.push(dir.join("report.html"));
    paths
}

/// The list of what a finished demo made, with each file's blake3.
const MARKER: &str = ".patrol-demo";

/// Remember what this demo made, so that running it again may replace it.
fn mark_demo(dir: &Path) -> Result<()> {
    let mut text = String::new();
    for p in demo_files(dir).iter().filter(|p| p.exists()) {
        let digest = patrol_store::import::file_digest(p)?;
        let rel = p.strip_prefix(dir).unwrap_or(p);
        let _ = writeln!(text, "{digest}  {}", rel.display());
    }
    std::fs::write(dir.join(MARKER), text).with_context(|| dir.display().to_string())
}

/// A folder holding a previous demo, unchanged since (every file it made has
/// the digest the demo wrote down): its files go, so the demo runs again. A
/// file changed since (a database someone went on using) keeps them all.
fn clear_previous_demo(dir: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(dir.join(MARKER)) else {
        return Ok(());
    };
    let ours = demo_files(dir);
    let mut remove = Vec::new();
    for line in text.lines() {
        let Some((digest, rel)) = line.split_once("  ") else {
            return Ok(());
        };
        let path = dir.join(rel);
        if !ours.contains(&path) {
            return Ok(());
        }
        if path.exists() {
            if patrol_store::import::file_digest(&path)? != digest {
                return Ok(());
            }
            remove.push(path);
        }
    }
    for p in remove {
        std::fs::remove_file(&p).with_context(|| p.display().to_string())?;
    }
    std::fs::remove_file(dir.join(MARKER)).with_context(|| dir.display().to_string())?;
    Ok(())
}

fn check_all(dir: &Path, output: &Output) -> Result<()> {
    // The databases first (they are never replaced, even with --force).
    let paths = demo_files(dir);
    for p in &paths {
        output
            .check(p)
            .map_err(|e| anyhow::anyhow!("{e:#}; or give the demo another --dir"))?;
    }
    Ok(())
}

/// A database file the demo creates must not be there (Store::init refuses
/// it too); a stale non-database file there goes only with --force.
fn fresh(path: &Path, output: &Output) -> Result<()> {
    output.check(path)?;
    if path.exists() {
        std::fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}

/// Back at the outpost, the rangers add what the GPS could not say: how
/// many snares were found and removed, how many people were at a camp.
fn add_what_was_seen(store: &mut Store, patrol: &str) -> Result<()> {
    for o in store.patrol_detail(patrol)?.observations {
        let attributes: &[&str] = match o.category.as_str() {
            "snare" => &["count=3", "removed=3", "age=fresh"],
            "poacher_camp" => &["people=2", "age=recent"],
            "logging" => &["count=2", "age=recent"],
            "gunshot" => &["shots=2"],
            "illegal_fishing" => &["count=1", "removed=1"],
            _ => continue,
        };
        let edit = patrol_store::edit::ObservationEdit {
            attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        };
        store.edit_observation(&o.observation_id, &edit)?;
    }
    Ok(())
}

pub fn run(a: &DemoArgs, quiet: bool) -> Result<Outcome> {
    let dir = &a.dir;
    let output = Output::new(None, a.force);
    clear_previous_demo(dir)?;
    check_all(dir, &output)?;
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let files = write_samples(dir, &output)?;
    let boundary_path = dir.join("thap-lan-boundary.geojson");
    output.write(&boundary_path, BOUNDARY.as_bytes())?;
    let say = |text: String| {
        if !quiet {
            eprintln!("{text}");
        }
    };

    // The site office creates the site and its boundary.
    let central_path = dir.join("thaplan.gpkg");
    fresh(&central_path, &output)?;
    let mut central = Store::init(
        &central_path,
        "Thap Lan",
        "Asia/Bangkok",
        &DataModel::default_model(),
    )?;
    central.set_boundary(&crate::geojson::read_boundary(&boundary_path)?)?;
    drop(central);

    // Each outpost laptop joins the site, imports its rangers' GPS files and
    // exports its database to send in.
    let mut exports = Vec::new();
    for outpost in OUTPOSTS {
        let path = dir.join(format!("{outpost}.gpkg"));
        fresh(&path, &output)?;
        let mut store = Store::init_joining(&path, &central_path)?;
        for (_, team, file) in files.iter().filter(|(o, _, _)| *o == outpost) {
            let transport = file
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.rsplit('-').next())
                .unwrap_or("foot")
                .parse()?;
            let opts = ImportOptions {
                assume_zone: None,
                patrol: None,
                team: (*team).to_owned(),
                transport,
                members: if *team == "Alpha" { 4 } else { 3 },
                member_names: Vec::new(),
                leader: None,
                objective: Some(format!("routine patrol from {outpost}")),
                date: None,
            };
            let r = store.import_gpx(file, &opts, &mut |_| {})?;
            anyhow::ensure!(
                r.status == Status::Imported,
                "{}: {}",
                file.display(),
                super::word(&r.status)
            );
            say(format!(
                "{outpost}: imported {} ({:.2} km, {} observations)",
                file.display(),
                r.length_m / 1000.0,
                r.observations
            ));
            if let Some(patrol) = &r.patrol_id {
                add_what_was_seen(&mut store, patrol)?;
            }
        }
        let out = dir.join(format!("{outpost}-export.gpkg"));
        output.check(&out)?;
        let e = patrol_sync::export(&mut store, &out, false, output.force())?;
        say(format!(
            "{outpost}: exported {} versions, {} track pieces to {}",
            e.versions, e.track_pieces, e.file
        ));
        exports.push(out);
    }

    // The site office merges what came in; merging twice changes nothing.
    let mut central = Store::open(&central_path)?;
    for file in exports.iter().chain(exports.iter()) {
        let r = patrol_sync::merge(&mut central, file, &patrol_sync::Limits::default())?;
        say(format!(
            "central: {} {}: {} new versions, {} track pieces",
            file.display(),
            super::word(&r.status),
            r.counts.new_versions,
            r.counts.track_pieces
        ));
    }

    let list = central.patrols(Some(super::patrols::month_range("2026-10")?))?;
    let mut t = patrol_report::table::Table::new(&[
        "patrol",
        "team",
        "transport",
        "first day",
        "km",
        "threats",
    ]);
    for p in &list {
        t.row(vec![
            p.patrol_id.clone(),
            p.team.clone(),
            p.transport.join(","),
            p.first_date.clone().unwrap_or_default(),
            format!("{:.2}", p.km),
            p.threats.to_string(),
        ]);
    }
    super::out(&format!(
        "Patrols in October 2026 at Thap Lan (merged from two outposts):\n{}",
        t.render()
    ))?;
    let html = super::report::demo_report(&central, dir, &output)?;
    eprintln!(
        "database: {}\nreport:   {}",
        central_path.display(),
        html.display()
    );
    mark_demo(dir)?;
    Ok(Outcome::Done)
}
