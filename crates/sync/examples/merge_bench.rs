//! Merge rate against raw SQL: `cargo run --release -p patrol-sync --example merge_bench [points] [runs]`.
//!
//! Builds a database with ~1M track points (GPX imports), exports it, then
//! times (a) raw `ATTACH` + `INSERT OR IGNORE ... SELECT` of the merged tables
//! into an empty database of the same schema and (b) `patrol_sync::merge` into
//! another, and prints points/s for both and their ratio.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use patrol_core::Transport;
use patrol_core::category::DataModel;
use patrol_store::Store;
use patrol_store::import::ImportOptions;

fn gpx(path: &Path, points: usize, seed: usize) {
    let mut s = String::with_capacity(points * 120);
    s.push_str("<?xml version=\"1.0\"?>\n<gpx version=\"1.1\" creator=\"bench\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n<trk><trkseg>\n");
    let t0 = 1_709_251_200i64 + seed as i64 * 86_400 * 3;
    for i in 0..points {
        let t = chrono::DateTime::from_timestamp(t0 + i as i64, 0).unwrap();
        let _ = writeln!(
            s,
            "<trkpt lat=\"{:.6}\" lon=\"{:.6}\"><ele>{}</ele><time>{}</time></trkpt>",
            14.0 + (i % 10_000) as f64 * 1e-5,
            102.0 + seed as f64 * 0.01 + (i / 10_000) as f64 * 1e-4,
            100 + i % 50,
            t.format("%Y-%m-%dT%H:%M:%SZ")
        );
    }
    s.push_str("</trkseg></trk>\n</gpx>\n");
    std::fs::write(path, s).unwrap();
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // Merges of the same export (each into fresh databases), for a median
    // on a busy machine.
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1)
        .max(1);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model = DataModel::default_model();
    let mut src = Store::init(&d.join("src.gpkg"), "Bench", "Asia/Bangkok", &model).unwrap();
    let opts = ImportOptions {
        assume_zone: None,
        patrol: None,
        team: "Bench".into(),
        transport: Transport::Foot,
        members: 2,
        member_names: Vec::new(),
        leader: None,
        objective: None,
        date: None,
    };
    let files = 8;
    let t = Instant::now();
    for i in 0..files {
        let p = d.join(format!("g{i}.gpx"));
        gpx(&p, total / files, i);
        src.import_gpx(&p, &opts, &mut |_| {}).unwrap();
        std::fs::remove_file(p).unwrap();
    }
    let points: i64 = src
        .conn()
        .query_row("SELECT sum(points) FROM tracks", [], |r| r.get(0))
        .unwrap();
    println!("built {points} track points in {:.1?}", t.elapsed());
    let export = d.join("export.gpkg");
    let t = Instant::now();
    patrol_sync::export(&mut src, &export, false, true).unwrap();
    println!(
        "export: {:.1?}, {:.1} MB",
        t.elapsed(),
        std::fs::metadata(&export).unwrap().len() as f64 / 1e6
    );
    drop(src);

    let mut ratios = Vec::new();
    for run in 0..runs {
        // (a) raw SQL into an empty database with the same schema.
        let raw = Store::init(
            &d.join(format!("raw{run}.gpkg")),
            "Raw",
            "Asia/Bangkok",
            &model,
        )
        .unwrap();
        let mut conn = rusqlite::Connection::open(raw.path()).unwrap();
        drop(raw);
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        let t = Instant::now();
        conn.execute("ATTACH ?1 AS inc", [export.to_string_lossy()])
            .unwrap();
        let tx = conn.transaction().unwrap();
        for table in [
            "sites",
            "devices",
            "categories",
            "patrol_versions",
            "leg_versions",
            "observation_versions",
            "tracks",
            "leg_days",
            "leg_qc",
            "fix_marks",
            "fix_samples",
            "site_boundaries",
            "qc_settings",
        ] {
            let cols: Vec<String> = tx
                .prepare("SELECT name FROM pragma_table_info(?1) WHERE name <> 'fid' ORDER BY cid")
                .unwrap()
                .query_map([table], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let cols = cols.join(", ");
            tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO main.{table} ({cols}) SELECT {cols} FROM inc.{table}"
                ),
                [],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let raw_s = t.elapsed().as_secs_f64();
        drop(conn);

        // (b) merge into a fresh central.
        let mut central = Store::init(
            &d.join(format!("central{run}.gpkg")),
            "Central",
            "Asia/Bangkok",
            &model,
        )
        .unwrap();
        let t = Instant::now();
        let r = patrol_sync::merge(&mut central, &export, &patrol_sync::Limits::default()).unwrap();
        let merge_s = t.elapsed().as_secs_f64();
        assert_eq!(
            r.counts.track_pieces as i64,
            central
                .conn()
                .query_row("SELECT count(*) FROM tracks", [], |r| r.get::<_, i64>(0))
                .unwrap()
        );

        let p = points as f64;
        println!(
            "raw ATTACH + INSERT OR IGNORE: {raw_s:.3} s, {:.0} points/s",
            p / raw_s
        );
        println!(
            "patrol_sync::merge:            {merge_s:.3} s, {:.0} points/s",
            p / merge_s
        );
        println!("merge rate / raw rate: {:.2}", raw_s / merge_s);
        ratios.push(raw_s / merge_s);
        drop(central);
        for db in ["raw", "central"] {
            let _ = std::fs::remove_file(d.join(format!("{db}{run}.gpkg")));
        }
    }
    if runs > 1 {
        ratios.sort_by(f64::total_cmp);
        println!(
            "{runs} runs: merge rate / raw rate median {:.2}, range {:.2}-{:.2}",
            ratios[runs / 2],
            ratios[0],
            ratios[runs - 1]
        );
    }
}
