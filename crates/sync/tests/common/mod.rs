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

/// An outpost: a new database with one imported patrol; the patrol's id.
pub fn outpost(
    dir: &Path,
    name: &str,
    points: usize,
    waypoints: usize,
    seed: u64,
) -> (Store, String) {
    let mut store = init(dir, name);
    let patrol = import(
        &mut store,
        dir,
        &format!("{name}1"),
        points,
        waypoints,
        seed,
    );
    (store, patrol)
}

/// The boundary the office sets in the tests: a triangle over the tracks.
pub fn set_boundary(store: &mut Store) {
    store
        .set_boundary(&[vec![vec![
            (102.0, 14.0),
            (103.0, 14.0),
            (103.0, 15.0),
            (102.0, 14.0),
        ]]])
        .unwrap();
}

/// A copy of a database file, opened (a second laptop holding the same database).
pub fn copy_store(from: &Path, to: &Path) -> Store {
    std::fs::copy(from, to).unwrap();
    Store::open(to).unwrap()
}

/// Change a file (an export) with raw SQL, as a tool or a forger would.
pub fn rewrite(file: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// A copy of `from` at `to`, changed with raw SQL.
pub fn rewritten(from: &Path, to: &Path, sql: &str) -> PathBuf {
    std::fs::copy(from, to).unwrap();
    rewrite(to, sql);
    to.to_owned()
}

/// One value read from a file with raw SQL.
pub fn file_value<T: rusqlite::types::FromSql>(file: &Path, sql: &str) -> T {
    rusqlite::Connection::open(file)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

pub fn digest(store: &Store) -> String {
    patrol_sync::digest(store.conn()).unwrap()
}

/// The first column of the first row of a query (raw SQL on the store: the
/// tests' way to look, through the hidden `Store::conn`).
pub fn value<T: rusqlite::types::FromSql>(store: &Store, sql: &str) -> T {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

pub fn count(store: &Store, sql: &str) -> i64 {
    value(store, sql)
}

/// The first row of a query, as a tuple.
pub fn row<T>(store: &Store, sql: &str) -> T
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    store
        .conn()
        .query_row(sql, [], patrol_store::row_tuple)
        .unwrap()
}

/// Every row of a query, as tuples.
pub fn rows<T>(store: &Store, sql: &str) -> Vec<T>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    store
        .conn()
        .prepare(sql)
        .unwrap()
        .query_map([], patrol_store::row_tuple)
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
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
            .query_map([], patrol_store::row_tuple)
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
                Kind::Definition => {
                    let (record_key, body): (String, String) = conn
                        .query_row(
                            "SELECT record_key, body FROM model_versions WHERE version_id = ?1",
                            [&v],
                            patrol_store::row_tuple,
                        )
                        .unwrap();
                    let d = patrol_store::records::Definition {
                        record_key: &record_key,
                        body: &body,
                    };
                    digest(kind, &meta, &d)
                }
            };
            conn.execute(
                &format!("UPDATE {t} SET digest = ?1 WHERE version_id = ?2"),
                [&d, &v],
            )
            .unwrap();
        }
    }
}
