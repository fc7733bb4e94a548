//! Export: one consistent, self-contained copy of the database (`VACUUM INTO`),
//! written next to its destination and renamed into place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use patrol_store::Store;
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

use crate::{STAMPED_TABLES, SyncError};

/// The rows a delta export selects by hlc or by local insertion order.
const DELTA_TABLES: &[&str] = &[
    "patrol_versions",
    "leg_versions",
    "observation_versions",
    "tracks",
    "site_boundaries",
];

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The path written, as given.
    pub file: String,
    /// Only what is new since the last export (else everything).
    pub delta: bool,
    /// The delta holds every row made after this hlc (0 for a full export).
    pub since_hlc: i64,
    /// The highest hlc in the database when it was exported.
    pub upto_hlc: i64,
    /// Record versions and boundaries in the file.
    pub versions: u64,
    /// Track pieces in the file (those of the delta, or all).
    pub track_pieces: u64,
    /// The file's size, bytes.
    pub bytes: u64,
    /// The file is in place, but something after it failed (remembering
    /// what was exported): said here, not as an error, since the file is good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A temporary path in `out`'s directory.
fn temp_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ))
}

/// Temporary files of an export older than this, whose process is gone, are
/// what a killed export left: the next export to the same name removes them.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Remove what killed exports to `out` left beside it: `.NAME.PID-ID.tmp`
/// (and its `-journal`), older than [`STALE_AFTER`], whose process is no
/// longer running (where the system says: `/proc`). Best effort.
fn remove_stale_temp_files(out: &Path) {
    let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    let proc = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        // Our own names, written in lower case.
        #[allow(clippy::case_sensitive_file_extension_comparisons)]
        let ours = rest.ends_with(".tmp") || rest.ends_with(".tmp-journal");
        if !ours {
            continue;
        }
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = pid == std::process::id()
            || (proc && Path::new("/proc").join(pid.to_string()).exists());
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old && !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes a file when dropped, unless disarmed.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(&p);
            let mut j = p.into_os_string();
            j.push("-journal");
            let _ = std::fs::remove_file(j);
        }
    }
}

/// Export the database to `out`: a GeoPackage holding
/// everything, or with `since_last_export`, the versions, track pieces, effort
/// rows and boundaries made or received since the last export (plus every
/// site, device and category). The source remembers what it exported only
/// once the file is in place. An existing file at `out` is refused unless
/// `overwrite` (the caller decides which files may be replaced).
pub fn export(
    store: &mut Store,
    out: &Path,
    since_last_export: bool,
    overwrite: bool,
) -> Result<ExportReport, SyncError> {
    let sqlite = SyncError::sqlite(out);
    let io = SyncError::io(out);
    let same = std::fs::canonicalize(out)
        .ok()
        .is_some_and(|a| std::fs::canonicalize(store.path()).is_ok_and(|b| a == b));
    if same {
        return Err(SyncError::Invalid {
            file: out.to_owned(),
            what: "that is the database itself".into(),
        });
    }
    if !overwrite && std::fs::symlink_metadata(out).is_ok() {
        return Err(SyncError::Invalid {
            file: out.to_owned(),
            what: "a file is already there; refusing to overwrite it (give another file name)"
                .into(),
        });
    }
    let (since, marks) = if since_last_export {
        let m = store.export_marks().map_err(&sqlite)?;
        (m.hlc, m.fids)
    } else {
        (0, BTreeMap::new())
    };
    remove_stale_temp_files(out);
    let tmp = temp_path(out);
    let mut cleanup = Cleanup(Some(tmp.clone()));
    store.copy_into(&tmp).map_err(&sqlite)?;

    let mut copy = Connection::open_with_flags(
        &tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&sqlite)?;
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(&sqlite)?;
    // What is deleted from the copy is overwritten, not left in free pages.
    copy.pragma_update(None, "secure_delete", "ON")
        .map_err(&sqlite)?;
    let tx = copy.transaction().map_err(&sqlite)?;
    // Who may log in to this database's web app stays here: no password
    // hash travels in a file.
    tx.execute("DELETE FROM users", []).map_err(&sqlite)?;
    let mut upto = 0i64;
    for (table, _) in STAMPED_TABLES {
        let h: Option<i64> = tx
            .query_row(&format!("SELECT max(hlc) FROM {table}"), [], |r| r.get(0))
            .map_err(&sqlite)?;
        upto = upto.max(h.unwrap_or(0));
    }
    let mut new_marks = BTreeMap::new();
    for table in DELTA_TABLES {
        let m: Option<i64> = tx
            .query_row(&format!("SELECT max(rowid) FROM {table}"), [], |r| r.get(0))
            .map_err(&sqlite)?;
        new_marks.insert(
            (*table).to_owned(),
            m.unwrap_or(0).max(marks.get(*table).copied().unwrap_or(0)),
        );
    }
    if since_last_export {
        for table in DELTA_TABLES {
            let mark = marks.get(*table).copied().unwrap_or(0);
            tx.execute(
                &format!("DELETE FROM {table} WHERE hlc <= ?1 AND rowid <= ?2"),
                params![since, mark],
            )
            .map_err(&sqlite)?;
        }
        // Rows derived per leg travel with the leg's track; a receiver that
        // has the track derives them itself.
        for (table, _) in crate::LEG_DERIVED_TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE leg_id NOT IN (SELECT leg_id FROM tracks)"),
                [],
            )
            .map_err(&sqlite)?;
        }
    }
    // Every device a row names is described in the file. (A database made
    // with `init --join` by an older patrol lacks the description of the
    // device that set the boundary it copied: described here from its
    // earliest row.)
    for (table, _) in STAMPED_TABLES {
        tx.execute(
            &format!(
                "INSERT INTO devices(device_id, site_id, first_seen)
                 SELECT device_id, site_id,
                   strftime('%Y-%m-%dT%H:%M:%fZ', (min(hlc) >> 16) / 1000.0, 'unixepoch')
                 FROM {table} WHERE device_id NOT IN (SELECT device_id FROM devices)
                 GROUP BY device_id
                 ON CONFLICT DO NOTHING"
            ),
            [],
        )
        .map_err(&sqlite)?;
    }
    patrol_store::exchange::set_meta(&tx, "export_since", &since.to_string()).map_err(&sqlite)?;
    patrol_store::exchange::set_meta(&tx, "exported_at", &chrono::Utc::now().to_rfc3339())
        .map_err(&sqlite)?;
    let count = |t: &str| -> Result<u64, SyncError> {
        tx.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(&sqlite)
    };
    let versions = count("patrol_versions")?
        + count("leg_versions")?
        + count("observation_versions")?
        + count("site_boundaries")?;
    let track_pieces = count("tracks")?;
    tx.commit().map_err(&sqlite)?;
    if since_last_export {
        copy.execute_batch("VACUUM").map_err(&sqlite)?;
    }
    copy.close().map_err(|(_, e)| SyncError::Sqlite {
        file: out.to_owned(),
        source: e,
    })?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(&io)?;
    if !overwrite && std::fs::symlink_metadata(out).is_ok() {
        return Err(SyncError::Invalid {
            file: out.to_owned(),
            what: "a file appeared there during the export; refusing to overwrite it".into(),
        });
    }
    std::fs::rename(&tmp, out).map_err(&io)?;
    cleanup.0 = None;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename durable where the platform allows it.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let bytes = std::fs::metadata(out).map_or(0, |m| m.len());

    // Only now, with the file in place, remember what was exported. The file
    // is good whatever happens here: a failure is a warning (the next delta
    // export then holds more than it needs, which a merge takes as it is).
    let warning = store.remember_export(upto, new_marks).err().map(|e| {
        format!(
            "{} was written, but the database could not remember the export ({e}); the next --since-last-export holds what this one held too",
            out.display()
        )
    });

    Ok(ExportReport {
        file: out.display().to_string(),
        delta: since_last_export,
        since_hlc: since,
        upto_hlc: upto,
        versions,
        track_pieces,
        bytes,
        warning,
    })
}
