//! Databases for the sync tests, built with the real store API.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use patrol_core::Transport;
use patrol_core::category::DataModel;
use patrol_core::model::LatLon;
use patrol_store::Store;
use patrol_store::import::ImportOptions;
use patrol_sync::{Limits, MergeReport, MergeStatus};

pub fn init(dir: &Path, name: &str) -> Store {
    Store::init(
        &dir.join(format!("{name}.gpkg")),
        name,
        "Asia/Bangkok",
        &DataModel::default_model(),
    )
    .unwrap()
}

/// A GPX file with one track of `points` points and `waypoints` waypoints.
pub fn gpx(dir: &Path, name: &str, points: usize, waypoints: usize, seed: u64) -> PathBuf {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<gpx version=\"1.1\" creator=\"test\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
    );
    let (lon0, lat0) = (
        102.0 + (seed % 100) as f64 * 0.01,
        14.0 + (seed % 37) as f64 * 0.01,
    );
    for w in 0..waypoints {
        let _ = writeln!(
            s,
            "<wpt lat=\"{:.6}\" lon=\"{:.6}\"><time>2024-03-0{}T0{}:00:00Z</time><name>Snare {w}</name></wpt>",
            lat0 + w as f64 * 0.001,
            lon0,
            1 + w % 9,
            w % 10
        );
    }
    if points > 0 {
        s.push_str("<trk><name>t</name><trkseg>\n");
        let t0 = 1_709_251_200 + (seed % 1000) as i64 * 86_400;
        for i in 0..points {
            let t = chrono::DateTime::from_timestamp(t0 + i as i64 * 10, 0).unwrap();
            let _ = writeln!(
                s,
                "<trkpt lat=\"{:.6}\" lon=\"{:.6}\"><ele>{}</ele><time>{}</time></trkpt>",
                lat0 + i as f64 * 0.0001,
                lon0 + (i % 7) as f64 * 0.0001,
                100 + i % 50,
                t.format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
        s.push_str("</trkseg></trk>\n");
    }
    s.push_str("</gpx>\n");
    let path = dir.join(format!("{name}.gpx"));
    std::fs::write(&path, s).unwrap();
    path
}

pub fn opts() -> ImportOptions {
    ImportOptions {
        assume_zone: None,
        patrol: None,
        team: "Team A".into(),
        transport: Transport::Foot,
        members: 3,
        member_names: vec!["Somchai".into()],
        leader: None,
        objective: None,
        date: None,
    }
}

/// Import a generated GPX; the new patrol's id.
pub fn import(
    store: &mut Store,
    dir: &Path,
    name: &str,
    points: usize,
    waypoints: usize,
    seed: u64,
) -> String {
    let path = gpx(dir, name, points, waypoints, seed);
    store
        .import_gpx(&path, &opts(), &mut |_| {})
        .unwrap()
        .patrol_id
        .unwrap()
}

pub fn observe(store: &mut Store, patrol: &str, lat: f64) -> String {
    store
        .add_observation(
            patrol,
            "snare",
            LatLon { lat, lon: 102.5 },
            Some(1_709_251_200_000_000),
            None,
        )
        .unwrap()
}

pub fn merge_ok(store: &mut Store, file: &Path) -> MergeReport {
    let r = patrol_sync::merge(store, file, &Limits::default())
        .unwrap_or_else(|e| panic!("merge failed: {e}"));
    assert_ne!(r.status, MergeStatus::Rejected);
    r
}

pub fn export(store: &mut Store, dir: &Path, name: &str, delta: bool) -> PathBuf {
    let out = dir.join(format!("{name}.gpkg"));
    patrol_sync::export(store, &out, delta, true).unwrap();
    out
}

pub fn digest(store: &Store) -> String {
    patrol_sync::digest(store.conn()).unwrap()
}

pub fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Recompute the digest of every version in a file with our own code, as a
/// tool that rewrites rows properly (or a forger who has our code) would.
pub fn redigest(file: &Path) {
    use patrol_store::edit::{load_leg, load_observation, load_patrol};
    use patrol_store::records::{Kind, VersionMeta, digest};
    let conn = rusqlite::Connection::open(file).unwrap();
    for kind in Kind::ALL {
        let t = kind.versions_table();
        let rows: Vec<(String, String, i64, String, String, bool)> = conn
            .prepare(&format!(
                "SELECT version_id, parents, hlc, device_id, site_id, deleted FROM {t}"
            ))
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (v, parents, hlc, device, site, deleted) in rows {
            let parents: Vec<String> = serde_json::from_str(&parents).unwrap();
            let meta = VersionMeta {
                version_id: v.parse().unwrap(),
                parents: parents.iter().map(|p| p.parse().unwrap()).collect(),
                hlc,
                device: device.parse().unwrap(),
                site: site.parse().unwrap(),
                deleted,
            };
            let d = match kind {
                Kind::Patrol => digest(kind, &meta, &load_patrol(&conn, &v).unwrap()),
                Kind::Leg => digest(kind, &meta, &load_leg(&conn, &v).unwrap()),
                Kind::Observation => digest(kind, &meta, &load_observation(&conn, &v).unwrap()),
            };
            conn.execute(
                &format!("UPDATE {t} SET digest = ?1 WHERE version_id = ?2"),
                [&d, &v],
            )
            .unwrap();
        }
    }
}
