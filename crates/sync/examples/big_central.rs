//! Builds a central database like a region's after ten years: 20 sites, each
//! with its own database, 10 years of patrols (about 100 a year per site, 300
//! points each, a few observations), a boundary per site; every site exports
//! and the region merges them all.
//!
//! `cargo run --release -p patrol-sync --example big_central -- OUT.gpkg [sites] [years] [patrols-per-year]`
//!
//! Used by `bench/report.sh`.

use std::fmt::Write as _;
use std::path::PathBuf;

use patrol_core::Transport;
use patrol_core::category::DataModel;
use patrol_store::Store;
use patrol_store::import::ImportOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1)
            .ok_or("usage: big_central OUT.gpkg [sites] [years] [patrols-per-year]")?,
    );
    let sites: u32 = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let years: i32 = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let per_year: u32 = args.get(4).map_or(Ok(100), |s| s.parse())?;
    let work = tempfile::tempdir()?;
    let model = DataModel::default_model();
    let labels = [
        "Snare 1",
        "Camp",
        "Gunshot",
        "Dung",
        "Rosewood",
        "Footprint",
        "Carcass",
    ];
    let mut exports = Vec::new();
    let mut seed: u64 = 42;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 1_000_000) as f64 / 1_000_000.0
    };
    for site in 0..sites {
        let (lon0, lat0) = (
            98.0 + f64::from(site % 5) * 1.5,
            8.0 + f64::from(site / 5) * 1.5,
        );
        let db = work.path().join(format!("site{site}.gpkg"));
        let mut store = Store::init(&db, &format!("Site {site}"), "Asia/Bangkok", &model)?;
        store.conn().pragma_update(None, "synchronous", "OFF")?;
        let ring: Vec<(f64, f64)> = (0..=24)
            .map(|i| {
                let a = std::f64::consts::TAU * f64::from(i % 24) / 24.0;
                (lon0 + 0.25 * a.cos(), lat0 + 0.2 * a.sin())
            })
            .collect();
        store.set_boundary(&[vec![ring]])?;
        let gpx = work.path().join("p.gpx");
        for year in 0..years {
            for p in 0..per_year {
                let day = 1 + (p * 365 / per_year);
                let start = chrono::NaiveDate::from_yo_opt(2017 + year, day.min(365))
                    .ok_or("date")?
                    .and_hms_opt(0, 30, 0)
                    .ok_or("time")?
                    .and_utc()
                    .timestamp();
                let mut s = String::from(
                    r#"<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1">"#,
                );
                let (mut lon, mut lat) =
                    (lon0 + (rand() - 0.5) * 0.3, lat0 + (rand() - 0.5) * 0.25);
                for k in 0..((rand() * 4.0) as usize) {
                    let _ = write!(
                        s,
                        r#"<wpt lat="{lat:.6}" lon="{lon:.6}"><name>{}</name></wpt>"#,
                        labels[(k + p as usize) % labels.len()]
                    );
                }
                s.push_str("<trk><trkseg>");
                for i in 0..300 {
                    lon += (rand() - 0.5) * 0.002;
                    lat += (rand() - 0.5) * 0.002;
                    let t = chrono::DateTime::from_timestamp(start + i * 60, 0).ok_or("time")?;
                    let _ = write!(
                        s,
                        r#"<trkpt lat="{lat:.6}" lon="{lon:.6}"><time>{}</time></trkpt>"#,
                        t.format("%Y-%m-%dT%H:%M:%SZ")
                    );
                }
                s.push_str("</trkseg></trk></gpx>");
                std::fs::write(&gpx, &s)?;
                let opts = ImportOptions {
                    assume_zone: None,
                    patrol: None,
                    team: format!("Team {}", p % 4),
                    transport: [Transport::Foot, Transport::Vehicle, Transport::Boat]
                        [p as usize % 3],
                    members: 3 + p % 3,
                    member_names: Vec::new(),
                    leader: None,
                    objective: None,
                    date: None,
                };
                store.import_gpx(&gpx, &opts, &mut |_| {})?;
            }
        }
        let export = work.path().join(format!("site{site}-export.gpkg"));
        patrol_sync::export(&mut store, &export, false, true)?;
        exports.push(export);
        eprintln!("site {site}: {} patrols", years * per_year as i32);
    }
    let mut central = Store::init(&out, "Region", "Asia/Bangkok", &model)?;
    for e in &exports {
        patrol_sync::merge(&mut central, e, &patrol_sync::Limits::default())?;
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
