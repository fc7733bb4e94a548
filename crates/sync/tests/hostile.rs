//! Hostile and broken files: each is refused with a message naming the file,
//! without a panic, and the central database does not change.

#![allow(clippy::many_single_char_names)] // d = dir, a b c = devices: short on purpose

mod common;

use std::path::{Path, PathBuf};

use common::*;
use patrol_store::Store;
use patrol_sync::{Limits, MergeStatus, SyncError};

struct World {
    dir: tempfile::TempDir,
    central: Store,
    good: PathBuf,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut a, p) = outpost(d, "a", 500, 2, 1);
    observe(&mut a, &p, 14.3);
    let good = export(&mut a, d, "good", false);
    let mut central = init(d, "central");
    let (mut b, _) = outpost(d, "b", 50, 1, 7);
    let fb = export(&mut b, d, "fb", false);
    merge_ok(&mut central, &fb);
    World { dir, central, good }
}

/// A copy of the good export, changed with raw SQL.
fn tampered(w: &World, name: &str, sql: &str) -> PathBuf {
    rewritten(&w.good, &w.dir.path().join(name), sql)
}

fn refused(w: &mut World, file: &Path, expect: &str) -> SyncError {
    let before = digest(&w.central);
    let ledger = patrol_sync::ledger(&w.central).unwrap().len();
    let e = patrol_sync::merge(&mut w.central, file, &Limits::default()).unwrap_err();
    let msg = e.to_string();
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        msg.contains(name.as_ref()),
        "message does not name the file: {msg}"
    );
    assert!(msg.contains(expect), "expected '{expect}' in: {msg}");
    assert_eq!(digest(&w.central), before, "central changed after: {msg}");
    assert_eq!(patrol_sync::ledger(&w.central).unwrap().len(), ledger);
    let r = patrol_sync::MergeReport::rejected(file, &e);
    assert_eq!(r.status, MergeStatus::Rejected);
    e
}

#[test]
fn random_bytes() {
    let mut w = world();
    let f = w.dir.path().join("random.gpkg");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&f, bytes).unwrap();
    refused(&mut w, &f, "not a SQLite database");
    let empty = w.dir.path().join("empty.gpkg");
    std::fs::write(&empty, b"").unwrap();
    refused(&mut w, &empty, "too short");
}

#[test]
fn random_bytes_after_a_valid_header() {
    let mut w = world();
    let f = w.dir.path().join("garbled.gpkg");
    let mut bytes = std::fs::read(&w.good).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().skip(100) {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    std::fs::write(&f, bytes).unwrap();
    let e = refused(&mut w, &f, "garbled.gpkg");
    assert!(
        matches!(e, SyncError::Corrupt { .. } | SyncError::Schema { .. }),
        "{e}"
    );
}

#[test]
fn truncated_database() {
    let mut w = world();
    let f = w.dir.path().join("truncated.gpkg");
    let bytes = std::fs::read(&w.good).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let e = refused(&mut w, &f, "damaged");
    assert!(matches!(e, SyncError::Corrupt { .. }), "{e}");
}

#[test]
fn plain_sqlite_is_not_a_geopackage() {
    let mut w = world();
    let f = w.dir.path().join("plain.sqlite");
    let conn = rusqlite::Connection::open(&f).unwrap();
    conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    refused(&mut w, &f, "not a GeoPackage");
    // A GeoPackage that is not ours.
    let g = w.dir.path().join("other.gpkg");
    let conn = rusqlite::Connection::open(&g).unwrap();
    conn.execute_batch("PRAGMA application_id = 1196444487; CREATE TABLE t(x);")
        .unwrap();
    drop(conn);
    refused(&mut w, &g, "no patrol_migrations");
}

#[test]
fn newer_schema() {
    let mut w = world();
    let f = tampered(
        &w,
        "newer.gpkg",
        "INSERT INTO patrol_migrations VALUES (999, 'later')",
    );
    let e = refused(&mut w, &f, "newer patrol");
    assert!(
        matches!(e, SyncError::NewerSchema { found: 999, .. }),
        "{e}"
    );
}

#[test]
fn triggers_and_views() {
    let mut w = world();
    let f = tampered(
        &w,
        "trigger.gpkg",
        "CREATE TRIGGER evil AFTER INSERT ON sites BEGIN DELETE FROM sites; END;",
    );
    refused(&mut w, &f, "trigger");
    let f = tampered(&w, "view.gpkg", "CREATE VIEW v AS SELECT * FROM sites;");
    refused(&mut w, &f, "view");
    let f = tampered(&w, "extra.gpkg", "CREATE TABLE extra(x);");
    refused(&mut w, &f, "unexpected table extra");
    let f = tampered(
        &w,
        "column.gpkg",
        "ALTER TABLE observation_versions ADD COLUMN evil TEXT;",
    );
    refused(&mut w, &f, "observation_versions has columns");
}

#[test]
fn wal_mode_file() {
    let mut w = world();
    let f = tampered(&w, "wal.gpkg", "");
    let mode: String = file_value(&f, "PRAGMA journal_mode = WAL");
    assert_eq!(mode, "wal");
    let e = refused(&mut w, &f, "WAL");
    assert!(matches!(e, SyncError::Wal { .. }), "{e}");
}

#[test]
fn too_big() {
    let mut w = world();
    let good = w.good.clone();
    let before = digest(&w.central);
    let e = patrol_sync::merge(&mut w.central, &good, &Limits { max_bytes: 1000 }).unwrap_err();
    assert!(
        e.to_string().contains("good.gpkg") && e.to_string().contains("limit"),
        "{e}"
    );
    assert_eq!(digest(&w.central), before);
}

#[test]
fn absurd_values_are_refused_naming_the_row() {
    let mut w = world();
    let f = tampered(&w, "lat95.gpkg", "UPDATE observation_versions SET lat = 95");
    refused(&mut w, &f, "observation_versions");
    let f = tampered(
        &w,
        "badid.gpkg",
        "UPDATE leg_versions SET leg_id = 'not-a-uuid'",
    );
    refused(&mut w, &f, "is not a UUID");
    let f = tampered(
        &w,
        "parents.gpkg",
        "UPDATE patrol_versions SET parents = '{\"a\":1}'",
    );
    refused(&mut w, &f, "parents");
    let f = tampered(&w, "deleted.gpkg", "UPDATE patrol_versions SET deleted = 7");
    refused(&mut w, &f, "deleted is 7");
    let f = tampered(
        &w,
        "transport.gpkg",
        "UPDATE leg_versions SET transport = 'rocket'",
    );
    refused(&mut w, &f, "rocket");
    let f = tampered(&w, "members.gpkg", "UPDATE leg_versions SET members = -1");
    refused(&mut w, &f, "members is -1");
    let f = tampered(
        &w,
        "hlc.gpkg",
        "UPDATE leg_versions SET hlc = 9223372036854775807",
    );
    refused(&mut w, &f, "hlc");
    let f = tampered(
        &w,
        "texthlc.gpkg",
        "UPDATE observation_versions SET hlc = 'soon'",
    );
    refused(&mut w, &f, "expected an integer");
    // A track piece whose points were moved: the blob no longer matches its digest.
    let f = tampered(
        &w,
        "geom.gpkg",
        "UPDATE tracks SET geom = CAST(substr(geom, 1, length(geom) - 8) || zeroblob(8) AS BLOB)",
    );
    refused(&mut w, &f, "digest does not match");
    let f = tampered(&w, "blob.gpkg", "UPDATE tracks SET geom = X'00'");
    refused(&mut w, &f, "geom");
    let f = tampered(
        &w,
        "bounds.gpkg",
        "UPDATE gpkg_contents SET max_y = 1e300 WHERE table_name = 'tracks'",
    );
    refused(&mut w, &f, "bounds");
    let f = tampered(&w, "nodevice.gpkg", "DELETE FROM devices");
    refused(&mut w, &f, "neither the file's devices nor ours");
}

#[test]
fn a_reused_version_id_is_quarantined_not_overwritten() {
    let mut w = world();
    // Central already holds b's patrol version; a file claims that id for other content.
    let (vid, team_before): (String, String) =
        row(&w.central, "SELECT version_id, team FROM patrol_versions");
    let f = tampered(
        &w,
        "reused.gpkg",
        &format!(
            "UPDATE observation_versions SET version_id = '{vid}', note = 'impostor'
             WHERE version_id = (SELECT min(version_id) FROM observation_versions);
             UPDATE patrol_versions SET version_id = '{vid}', team = 'Impostors'"
        ),
    );
    // Rows rewritten with valid digests: only the reused id is wrong.
    redigest(&f);
    let r = merge_ok(&mut w.central, &f);
    assert_eq!(r.status, MergeStatus::Merged);
    assert_eq!(r.counts.quarantined, 1);
    let team: String = value(
        &w.central,
        &format!("SELECT team FROM patrol_versions WHERE version_id = '{vid}'"),
    );
    assert_eq!(team, team_before, "the row we had is untouched");
    let (table, incoming): (String, String) =
        row(&w.central, "SELECT table_name, incoming FROM quarantine");
    assert_eq!(table, "patrol_versions");
    assert!(incoming.contains("Impostors"), "{incoming}");
    // Visible: `patrol check` counts it, `patrol quarantine` lists it, and a
    // person's decision is recorded while the row we hold stays.
    let finding = |s: &Store| {
        s.check()
            .unwrap()
            .into_iter()
            .find(|f| f.check == "quarantined rows")
            .unwrap()
    };
    assert!(finding(&w.central).detail.starts_with("1 rows"));
    let listed = w.central.quarantined(false).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].incoming["team"], "Impostors");
    w.central.drop_quarantined(listed[0].id).unwrap();
    assert!(w.central.quarantined(false).unwrap().is_empty());
    let all = w.central.quarantined(true).unwrap();
    assert_eq!(all[0].decision.as_deref(), Some("dropped"));
    assert!(w.central.drop_quarantined(listed[0].id).is_err());
    assert!(finding(&w.central).detail.starts_with("0 rows"));
    // The other rows arrived (the observation with the other table's id is a different version table).
    assert_eq!(
        count(
            &w.central,
            "SELECT count(*) FROM observation_versions WHERE note = 'impostor'"
        ),
        1
    );
    assert_eq!(count(&w.central, "SELECT count(*) FROM tracks"), 2);
}

#[test]
fn a_bad_file_named_in_a_path_with_odd_characters_still_opens() {
    let mut w = world();
    let f = tampered(&w, "odd name #1 ?%.gpkg", "");
    let r = merge_ok(&mut w.central, &f);
    assert_eq!(r.status, MergeStatus::Merged);
}

#[test]
fn limits_are_the_core_s() {
    // The CLI takes 1..=1000 members; a file must not carry what no patrol makes.
    let mut w = world();
    let f = tampered(&w, "members0.gpkg", "UPDATE leg_versions SET members = 0");
    refused(&mut w, &f, "members is 0");
    let f = tampered(
        &w,
        "members1001.gpkg",
        "UPDATE leg_versions SET members = 1001",
    );
    refused(&mut w, &f, "members is 1001");
}

/// The input is read once, into a private copy: a pipe can be read only once,
/// so a merge that hashed, checked and attached the file by path three times
/// would get nothing (or another file) the second time. What the ledger
/// records is the digest of exactly the bytes merged.
#[cfg(unix)]
#[test]
fn the_input_is_read_once_and_the_ledger_names_the_bytes_merged() {
    let w = world();
    let fifo = w.dir.path().join("pipe.gpkg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&w.good).unwrap();
    let want = blake3::hash(&bytes).to_hex().to_string();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, &bytes));
    }
    let central = w.central.path().to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut c = Store::open(&central).unwrap();
            let _ = tx.send(
                patrol_sync::merge(&mut c, &fifo, &Limits::default()).map_err(|e| e.to_string()),
            );
        });
    }
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the merge blocked: it opened the input more than once")
        .unwrap();
    assert_eq!(r.status, MergeStatus::Merged);
    assert_eq!(r.counts.track_pieces, 1);
    let ledger = patrol_sync::ledger(&w.central).unwrap();
    assert_eq!(ledger.last().unwrap().file_digest, want);
    assert_eq!(ledger.last().unwrap().file_name, "pipe.gpkg");

    // The size limit bounds the copy too, whatever the file system says.
    let big = w.dir.path().join("big-pipe.gpkg");
    let made = std::process::Command::new("mkfifo")
        .arg(&big)
        .status()
        .unwrap();
    assert!(made.success());
    let good = std::fs::read(&w.good).unwrap();
    {
        let big = big.clone();
        std::thread::spawn(move || std::fs::write(&big, &good));
    }
    let mut c = Store::open(w.central.path()).unwrap();
    let e = patrol_sync::merge(&mut c, &big, &Limits { max_bytes: 4096 }).unwrap_err();
    assert!(matches!(e, SyncError::TooBig { .. }), "{e}");
    assert!(e.to_string().contains("big-pipe.gpkg"), "{e}");
}

/// A crashed writer's uncommitted pages: a non-empty `-journal` beside the
/// file. The file alone is not what its writer meant; refused, saying how to
/// recover. An empty journal is nothing (SQLite leaves one in some modes).
#[test]
fn a_hot_journal_beside_the_file() {
    let mut w = world();
    let f = w.dir.path().join("hot.gpkg");
    std::fs::copy(&w.good, &f).unwrap();
    // A real hot journal: a transaction's original pages, left by a writer
    // that stopped before committing.
    let conn = rusqlite::Connection::open(w.dir.path().join("scratch.gpkg")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE; CREATE TABLE t(x); BEGIN; INSERT INTO t VALUES (zeroblob(10000));",
    )
    .unwrap();
    let journal = std::fs::read(w.dir.path().join("scratch.gpkg-journal")).unwrap();
    assert!(!journal.is_empty());
    std::fs::write(w.dir.path().join("hot.gpkg-journal"), &journal).unwrap();
    drop(conn);
    let e = refused(&mut w, &f, "journal");
    let msg = e.to_string();
    assert!(
        msg.contains("sqlite3") && msg.contains("export again"),
        "{msg}"
    );
    // An empty journal is not hot.
    std::fs::write(w.dir.path().join("hot.gpkg-journal"), b"").unwrap();
    let r = merge_ok(&mut w.central, &f);
    assert_eq!(r.status, MergeStatus::Merged);
}

/// A UTF-16 SQLite database cannot be attached to ours; a text file is not a
/// database at all. Each is refused saying what it is, not "damaged".
#[test]
fn utf16_and_text_files_say_what_they_are() {
    let mut w = world();
    let f = w.dir.path().join("utf16.gpkg");
    let conn = rusqlite::Connection::open(&f).unwrap();
    conn.execute_batch("PRAGMA encoding = 'UTF-16le'; PRAGMA application_id = 1196444487;")
        .unwrap();
    patrol_store::apply_migrations(&conn).unwrap();
    conn.execute_batch(
        "INSERT INTO patrol_meta VALUES ('device_id', '0190a0b0-0000-7000-8000-000000000001'),
                                        ('site_id', '0190a0b0-0000-7000-8000-000000000002');",
    )
    .unwrap();
    drop(conn);
    let e = refused(&mut w, &f, "UTF-16");
    assert!(!e.to_string().contains("damaged"), "{e}");

    let gpx = w.dir.path().join("track.gpkg");
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<gpx version=\"1.1\">{}</gpx>\n",
        "<wpt lat=\"14\" lon=\"102\"/>".repeat(40)
    );
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(&gpx, bytes).unwrap();
    let e = refused(&mut w, &gpx, "UTF-16 text");
    assert!(e.to_string().contains("patrol import"), "{e}");
}

/// A refused delta: its rows will not travel in the next delta, so the
/// message says a full export is needed.
#[test]
fn a_refused_delta_says_a_full_export_is_needed() {
    let mut w = world();
    let d = w.dir.path().to_owned();
    let (mut a, p) = outpost(&d, "a2", 50, 1, 11);
    export(&mut a, &d, "a2-full", false);
    observe(&mut a, &p, 14.2);
    let delta = export(&mut a, &d, "a2-delta", true);
    rewrite(&delta, "UPDATE observation_versions SET lat = 95");
    let e = refused(&mut w, &delta, "lat 95");
    let msg = e.to_string();
    assert!(
        msg.contains("full export") && msg.contains("without `--since-last-export`"),
        "{msg}"
    );
}

/// A device whose clock is years ahead would win every conflict and drag
/// every database's clock with it: refused past one day ahead, naming the
/// device and the skew; our clock does not move.
#[test]
fn a_clock_years_ahead_is_refused_and_does_not_drag_ours() {
    let mut w = world();
    let hlc_before: String = value(
        &w.central,
        "SELECT value FROM patrol_meta WHERE key = 'hlc'",
    );
    let f = tampered(
        &w,
        "future.gpkg",
        "UPDATE observation_versions SET hlc = hlc + ((5 * 365 * 86400000) << 16)
         WHERE version_id = (SELECT min(version_id) FROM observation_versions)",
    );
    let file_device: String =
        file_value(&f, "SELECT value FROM patrol_meta WHERE key = 'device_id'");
    let e = refused(&mut w, &f, "days ahead");
    let msg = e.to_string();
    assert!(msg.contains(&file_device), "{msg}");
    assert!(msg.contains("182"), "five years is about 1825 days: {msg}");
    let hlc_after: String = value(
        &w.central,
        "SELECT value FROM patrol_meta WHERE key = 'hlc'",
    );
    assert_eq!(hlc_before, hlc_after);
    // Half a day ahead is a clock set a little wrong: merged.
    let f = tampered(
        &w,
        "soon.gpkg",
        "UPDATE observation_versions SET hlc = (CAST(strftime('%s','now') AS INTEGER) * 1000 + 43200000) << 16
         WHERE version_id = (SELECT min(version_id) FROM observation_versions)",
    );
    redigest(&f);
    merge_ok(&mut w.central, &f);

    // Whatever it is shown, the local clock never passes now + one day.
    patrol_store::observe_hlc(w.central.conn(), i64::MAX / 2).unwrap();
    let hlc: i64 = value(
        &w.central,
        "SELECT CAST(value AS INTEGER) FROM patrol_meta WHERE key = 'hlc'",
    );
    let bound = (patrol_store::now_ms() + 86_400_000 + 1000) << 16;
    assert!(hlc < bound, "{hlc} >= {bound}");
}

/// One flipped byte in a version row ("Team A" became "Team B"): the digest
/// no longer matches, so the file is refused naming table and version. Had
/// it merged, the honest file's row would have been quarantined and the
/// rotten value kept.
#[test]
fn bit_rot_is_refused_and_the_honest_row_wins() {
    let mut w = world();
    let vid: String = file_value(&w.good, "SELECT version_id FROM patrol_versions");
    let f = tampered(
        &w,
        "rotten.gpkg",
        "UPDATE patrol_versions SET team = 'Team B'",
    );
    let e = refused(&mut w, &f, "digest does not match");
    let msg = e.to_string();
    assert!(
        msg.contains("patrol_versions") && msg.contains(&vid),
        "{msg}"
    );
    let o = tampered(
        &w,
        "rotten-obs.gpkg",
        "UPDATE observation_versions SET lat = lat + 0.000001
         WHERE version_id = (SELECT min(version_id) FROM observation_versions)",
    );
    refused(&mut w, &o, "observation_versions");
    let l = tampered(&w, "rotten-leg.gpkg", "UPDATE leg_versions SET members = 4");
    refused(&mut w, &l, "leg_versions");
    // The honest file merges, and then the rotten one is still refused, not quarantined.
    let good = w.good.clone();
    let r = merge_ok(&mut w.central, &good);
    assert_eq!((r.status, r.counts.quarantined), (MergeStatus::Merged, 0));
    refused(&mut w, &f, "digest does not match");
    assert_eq!(count(&w.central, "SELECT count(*) FROM quarantine"), 0);
    assert_eq!(
        count(
            &w.central,
            "SELECT count(*) FROM patrols WHERE team = 'Team A'"
        ),
        2
    );
}

/// The schema is compared exactly, object by object: a table rebuilt
/// without its UNIQUE constraint (duplicate version ids then vanish in the
/// merge) or with a generated column has our column names and types but is
/// not our table.
#[test]
fn schema_objects_are_compared_exactly() {
    let mut w = world();
    let f = tampered(
        &w,
        "nounique.gpkg",
        "ALTER TABLE observation_versions RENAME TO old_ov;
         CREATE TABLE observation_versions (
           fid INTEGER PRIMARY KEY AUTOINCREMENT,
           version_id TEXT NOT NULL,
           observation_id TEXT NOT NULL,
           parents TEXT NOT NULL,
           hlc INTEGER NOT NULL,
           device_id TEXT NOT NULL,
           site_id TEXT NOT NULL,
           deleted INTEGER NOT NULL,
           digest TEXT NOT NULL,
           patrol_id TEXT NOT NULL,
           category TEXT NOT NULL,
           time_us INTEGER,
           lon REAL NOT NULL,
           lat REAL NOT NULL,
           raw_name TEXT,
           note TEXT,
           attributes TEXT
         );
         INSERT INTO observation_versions SELECT * FROM old_ov;
         DROP TABLE old_ov;
         CREATE INDEX observation_versions_record ON observation_versions(observation_id);
         CREATE INDEX observation_versions_device ON observation_versions(device_id, hlc);
         INSERT INTO observation_versions(version_id, observation_id, parents, hlc, device_id, site_id, deleted,
             digest, patrol_id, category, time_us, lon, lat, raw_name, note)
           SELECT version_id, observation_id, parents, hlc, device_id, site_id, deleted, digest, patrol_id,
             category, time_us, lon, lat, raw_name, 'twin' FROM observation_versions LIMIT 1;",
    );
    refused(&mut w, &f, "observation_versions is not defined as ours");
    let f = tampered(
        &w,
        "generated.gpkg",
        "ALTER TABLE patrols ADD COLUMN evil TEXT AS (team || '!')",
    );
    refused(&mut w, &f, "patrols");
    let f = tampered(
        &w,
        "index.gpkg",
        "DROP INDEX leg_days_date; CREATE INDEX leg_days_date ON leg_days(date DESC)",
    );
    refused(&mut w, &f, "leg_days_date");
}

/// A geometry's header envelope is what a spatial index (QGIS's R-tree)
/// reads: NaN, out of range, or not containing the geometry's points is
/// refused, even with a piece digest made to match.
#[test]
fn geometry_envelopes_are_checked() {
    let mut w = world();
    let (dir, good) = (w.dir.path().to_owned(), w.good.clone());
    let envelope = |name: &str, env: [f64; 4]| {
        let f = dir.join(name);
        std::fs::copy(&good, &f).unwrap();
        let conn = rusqlite::Connection::open(&f).unwrap();
        let (id, mut geom, times, ele): (String, Vec<u8>, Vec<u8>, Option<Vec<u8>>) = conn
            .query_row(
                "SELECT piece_id, geom, times, ele FROM tracks",
                [],
                patrol_store::row_tuple,
            )
            .unwrap();
        for (i, v) in env.iter().enumerate() {
            geom[8 + 8 * i..16 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        let mut h = blake3::Hasher::new();
        h.update(&geom);
        h.update(&times);
        if let Some(e) = &ele {
            h.update(e);
        }
        conn.execute(
            "UPDATE tracks SET geom = ?1, digest = ?2 WHERE piece_id = ?3",
            rusqlite::params![geom, h.finalize().to_hex().to_string(), id],
        )
        .unwrap();
        f
    };
    let f = envelope("nan-envelope.gpkg", [f64::NAN, 103.0, 14.0, 15.0]);
    refused(&mut w, &f, "envelope");
    let f = envelope("huge-envelope.gpkg", [-1e300, 1e300, 14.0, 15.0]);
    refused(&mut w, &f, "envelope");
    let f = envelope("small-envelope.gpkg", [102.0, 102.001, 14.0, 14.001]);
    refused(&mut w, &f, "envelope");
    // A boundary's envelope, too (boundaries have no digest).
    let d = w.dir.path().to_owned();
    let mut o = init(&d, "office");
    set_boundary(&mut o);
    let fo = export(&mut o, &d, "office-out", false);
    let f = d.join("bad-boundary.gpkg");
    std::fs::copy(&fo, &f).unwrap();
    let conn = rusqlite::Connection::open(&f).unwrap();
    conn.execute(
        "UPDATE site_boundaries SET geom = CAST(substr(geom, 1, 8) || ?1 || substr(geom, 17) AS BLOB)",
        [f64::INFINITY.to_le_bytes().to_vec()],
    )
    .unwrap();
    drop(conn);
    refused(&mut w, &f, "envelope");
    merge_ok(&mut w.central, &fo);
}

#[test]
fn a_damaged_page_deep_in_the_file_is_corruption_not_a_bad_row() {
    // The header and the schema read well; one page near the end (an index
    // or a table's leaf) is garbage. The pages are checked beside the rows:
    // whichever is read first, the refusal says the file is corrupt.
    let mut w = world();
    let f = w.dir.path().join("page.gpkg");
    let mut bytes = std::fs::read(&w.good).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let page = if page == 1 { 65_536 } else { page };
    let pages = bytes.len() / page;
    assert!(pages > 8, "the sample file has {pages} pages");
    for p in [pages - 2, pages / 2] {
        for (i, b) in bytes[p * page..(p + 1) * page].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
    }
    std::fs::write(&f, bytes).unwrap();
    let e = refused(&mut w, &f, "page.gpkg");
    assert!(matches!(e, SyncError::Corrupt { .. }), "{e}");
}

#[test]
fn bad_definitions_of_the_data_model_are_refused_naming_the_row() {
    let mut w = world();
    let snare = "record_key = 'category:snare'";
    for (name, sql, says) in [
        (
            "defkey.gpkg",
            format!("UPDATE model_versions SET record_key = 'category:Snare!' WHERE {snare}"),
            "is not 'languages', 'category:KEY' or 'attribute:KEY'",
        ),
        (
            "defjson.gpkg",
            format!("UPDATE model_versions SET body = '{{not json' WHERE {snare}"),
            "body is not a category",
        ),
        (
            "defother.gpkg",
            format!("UPDATE model_versions SET body = replace(body, '\"key\":\"snare\"', '\"key\":\"gunshot\"') WHERE {snare}"),
            "defines category 'gunshot', not 'snare'",
        ),
        (
            "defrange.gpkg",
            "UPDATE model_versions SET body = replace(body, '\"min\":0.0', '\"min\":1e9') WHERE record_key = 'attribute:count'".to_owned(),
            "min 1000000000 is above max",
        ),
        (
            "defspaces.gpkg",
            format!("UPDATE model_versions SET body = replace(body, ',', ', ') WHERE {snare}"),
            "not written as patrol writes it",
        ),
        (
            "deflang.gpkg",
            "UPDATE model_versions SET body = '[\"en\", \"<script>\"]' WHERE record_key = 'languages'".to_owned(),
            "not a list of language codes",
        ),
    ] {
        let f = tampered(&w, name, &sql);
        // Made to look honest: the digests recomputed by our own code.
        redigest(&f);
        let e = refused(&mut w, &f, "model_versions");
        assert!(e.to_string().contains(says), "{name}: {e}");
    }
    // A changed label with the digest left as it was: rot.
    let f = tampered(
        &w,
        "defrot.gpkg",
        &format!("UPDATE model_versions SET body = replace(body, 'Snare', 'Snore') WHERE {snare}"),
    );
    refused(&mut w, &f, "digest does not match");
}

/// Track points off Earth (not a number, far beyond the poles), with the
/// piece's digest made to match: refused by the pieces' checks, though the
/// legs new here are being measured from the file's pieces beside them
/// (measuring leaves such a leg out; nothing measured is kept).
#[test]
fn track_points_off_earth_are_refused_while_legs_are_measured_beside() {
    let mut w = world();
    let good = w.good.clone();
    for (name, bad) in [
        ("nan-point.gpkg", (f64::NAN, 14.0)),
        ("far-point.gpkg", (102.0, 1e300)),
    ] {
        let f = w.dir.path().join(name);
        std::fs::copy(&good, &f).unwrap();
        let conn = rusqlite::Connection::open(&f).unwrap();
        let (id, geom, times, ele): (String, Vec<u8>, Vec<u8>, Option<Vec<u8>>) = conn
            .query_row(
                "SELECT piece_id, geom, times, ele FROM tracks ORDER BY piece_id DESC LIMIT 1",
                [],
                patrol_store::row_tuple,
            )
            .unwrap();
        let mut points = patrol_store::gpkg::read_line_string(&geom).unwrap();
        let mid = points.len() / 2;
        points[mid] = bad;
        let geom = patrol_store::gpkg::line_string(&points);
        let mut h = blake3::Hasher::new();
        h.update(&geom);
        h.update(&times);
        if let Some(e) = &ele {
            h.update(e);
        }
        conn.execute(
            "UPDATE tracks SET geom = ?1, digest = ?2 WHERE piece_id = ?3",
            rusqlite::params![geom, h.finalize().to_hex().to_string(), id],
        )
        .unwrap();
        drop(conn);
        refused(&mut w, &f, "outside -180..180");
    }
    merge_ok(&mut w.central, &good);
}
