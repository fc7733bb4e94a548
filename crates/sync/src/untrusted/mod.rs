//! Files from elsewhere are untrusted: they are checked, in this order, before
//! any of their rows is read: size; the 100-byte SQLite header (magic, not
//! WAL, GeoPackage application id: [`header`]); a read-only, immutable,
//! defensive open; `quick_check`; the exact schema (no triggers, no views,
//! our tables with our columns, our schema version or an older one, upgraded
//! on a temporary copy: [`schema`]). Then, attached read-only, every row that
//! will be merged is validated ([`tables`], written in the row-rule language
//! of [`rules`]), and the references between rows are checked
//! ([`references`]); the track pieces ([`validate_tracks`]) on the file's
//! own connection, beside the merge, which derives nothing from them until
//! they pass.

mod header;
mod references;
mod rules;
mod schema;
mod tables;

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::SyncError;

pub(crate) use header::check_header;
pub(crate) use rules::is_id;
pub(crate) use tables::{TrackStamps, track_references, validate_rows, validate_tracks};

/// A file that passed the checks made before reading its rows.
pub(crate) struct Checked {
    /// The private copy to attach (upgraded if the file was older).
    pub path: PathBuf,
    _copy: TempCopy,
    /// blake3 of the file's bytes as they were copied, hex.
    pub digest: String,
    /// The file's own device and site (its `patrol_meta`).
    pub device: String,
    pub site: String,
    /// Rows made after this hlc are all in the file (0 for a full export).
    pub since: i64,
    /// Whether [`quick_check`] has passed already (it runs before an older
    /// file is upgraded); otherwise the merge runs it beside the row checks.
    pub pages_ok: bool,
}

/// A temporary file, removed when dropped.
pub(crate) struct TempCopy(PathBuf);

/// An incoming file, read once into a private temporary copy: everything
/// after this (hash, header, checks, upgrade, attach) sees only the copy, so
/// a file renamed or rewritten in the inbox meanwhile changes nothing.
pub(crate) struct Incoming {
    pub copy: TempCopy,
    /// blake3 of the bytes copied, hex.
    pub digest: String,
}

impl Incoming {
    pub fn path(&self) -> &Path {
        &self.copy.0
    }
}

/// Chunks of 1 MiB in flight between reading and writing a copy.
const COPY_CHUNKS: usize = 4;

/// Copy `path` once to a private temporary file, hashing while copying, and
/// refuse it past `max_bytes` (counted as read, whatever the file system
/// says its size is).
pub(crate) fn take_copy(path: &Path, max_bytes: u64) -> Result<Incoming, SyncError> {
    use std::io::Write as _;
    let io = SyncError::io(path);
    let too_big = |size: u64| SyncError::TooBig {
        file: path.to_owned(),
        size,
        limit: max_bytes,
    };
    // A crashed writer's journal: its uncommitted pages. (WAL files are
    // refused by their header.) Only a non-empty journal is hot.
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    let journal = PathBuf::from(journal);
    if std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        return Err(SyncError::HotJournal {
            file: path.to_owned(),
            journal,
        });
    }
    let mut input = std::fs::File::open(path).map_err(&io)?;
    let meta = input.metadata().map_err(&io)?;
    if meta.is_file() && meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    let name = format!(
        "patrol-merge-{}-{}.gpkg",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    );
    let target = std::env::temp_dir().join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&target).map_err(SyncError::io(&target))?;
    // Removed on every path out of here, and after the merge.
    let copy = TempCopy(target);
    // Read and hashed here, written on another thread, chunk by chunk.
    let mut hasher = blake3::Hasher::new();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(COPY_CHUNKS);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(COPY_CHUNKS);
    for _ in 0..COPY_CHUNKS {
        let _ = empty_tx.send(vec![0u8; 1 << 20]);
    }
    let copied: Result<(), SyncError> = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for (buf, n) in full_rx {
                out.write_all(&buf[..n])?;
                let _ = empty_tx.send(buf);
            }
            out.flush()
        });
        let mut total = 0u64;
        let read = (|| {
            // The writer gone (it failed) ends the reading: its error is
            // the one reported.
            while let Ok(mut buf) = empty_rx.recv() {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                        let _ = full_tx.send((buf, 0));
                        continue;
                    }
                    Err(e) => return Err(io(e)),
                };
                total += n as u64;
                if total > max_bytes {
                    return Err(too_big(meta.len().max(total)));
                }
                hasher.update(&buf[..n]);
                if full_tx.send((buf, n)).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(full_tx);
        let written = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        written.map_err(SyncError::io(&copy.0))
    });
    copied?;
    Ok(Incoming {
        copy,
        digest: hasher.finalize().to_hex().to_string(),
    })
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut journal = self.0.clone().into_os_string();
        journal.push("-journal");
        let _ = std::fs::remove_file(journal);
    }
}

/// The `file:` URI of a path, for opening it read-only and immutable.
pub(crate) fn uri(path: &Path, params: &str) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = String::from("file:");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out.push('?');
    out.push_str(params);
    out
}

/// Turn the defensive settings on (or back off) on a connection.
pub(crate) fn defensive(conn: &Connection, on: bool) -> rusqlite::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, !on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, !on)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, !on)?;
    Ok(())
}

/// Open the copy `at` of the file `path` read-only, immutable, defensive.
pub(crate) fn open_untrusted(path: &Path, at: &Path) -> Result<Connection, SyncError> {
    let corrupt = SyncError::corrupt(path);
    let conn = Connection::open_with_flags(
        uri(at, "mode=ro&immutable=1"),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(corrupt)?;
    defensive(&conn, true).map_err(corrupt)?;
    conn.pragma_update(None, "cell_size_check", "ON")
        .map_err(corrupt)?;
    conn.pragma_update(None, "mmap_size", 0).map_err(corrupt)?;
    Ok(conn)
}

/// Open, check and (if older) upgrade the private copy of an incoming file
/// whose header passed. `path` is the file as given (for messages only: it is
/// never read again); `own_device` is the device of the database merging it.
pub(crate) fn check_file(
    path: &Path,
    incoming: Incoming,
    own_device: &str,
) -> Result<Checked, SyncError> {
    let conn = open_untrusted(path, incoming.path())?;
    let (device, site, since, older) = checked_meta(path, conn, incoming.path(), own_device)
        // A file whose pages do not hold together is refused as corrupt,
        // whatever else was found wrong with it.
        .map_err(|e| quick_check(path, incoming.path()).err().unwrap_or(e))?;
    Ok(Checked {
        path: incoming.path().to_owned(),
        _copy: incoming.copy,
        digest: incoming.digest,
        device,
        site,
        since,
        pages_ok: older,
    })
}

/// `PRAGMA quick_check` of the private copy at `at` of `path`: a file whose
/// pages or indexes do not hold together is [`SyncError::Corrupt`].
pub(crate) fn quick_check(path: &Path, at: &Path) -> Result<(), SyncError> {
    let conn = open_untrusted(path, at)?;
    integrity(path, &conn)
}

fn integrity(path: &Path, conn: &Connection) -> Result<(), SyncError> {
    let quick: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(SyncError::corrupt(path))?;
    if quick != "ok" {
        return Err(SyncError::Corrupt {
            file: path.to_owned(),
            detail: quick,
        });
    }
    Ok(())
}

/// The file's schema (upgraded when older) and its `patrol_meta`: its
/// device, site and `export_since`, and whether it was older.
fn checked_meta(
    path: &Path,
    conn: Connection,
    copy: &Path,
    own_device: &str,
) -> Result<(String, String, i64, bool), SyncError> {
    let schema_err = SyncError::schema(path);
    let version = schema::version(path, &conn)?;
    let older = version < patrol_store::SCHEMA_VERSION;
    let conn = if older {
        // The upgrade writes to the copy: its pages are checked first.
        integrity(path, &conn)?;
        drop(conn);
        schema::upgrade_copy(path, copy)?;
        open_untrusted(path, copy)?
    } else {
        conn
    };
    schema::compare(path, &conn)?;
    let meta = |key: &str| -> Result<Option<String>, SyncError> {
        conn.query_row("SELECT value FROM patrol_meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
        .map_err(|e| schema_err(format!("unreadable patrol_meta: {e}")))
    };
    let device = meta("device_id")?
        .filter(|d| is_id(d))
        .ok_or_else(|| schema_err("patrol_meta has no valid device_id".into()))?;
    let site = meta("site_id")?
        .filter(|d| is_id(d))
        .ok_or_else(|| schema_err("patrol_meta has no valid site_id".into()))?;
    let since = match meta("export_since")? {
        None => 0,
        Some(s) => s
            .parse()
            .map_err(|_| schema_err(format!("patrol_meta export_since '{s}' is not a number")))?,
    };
    if device == own_device {
        return Err(SyncError::CopiedDatabase {
            file: path.to_owned(),
            detail: format!(
                "it was exported from a database with device id {device}, which is this database's own id: \
                 it is this database (nothing to merge) or a copy of it. To give a copy its own id: \
                 `patrol --db NEW.gpkg init --join COPY.gpkg`, then `patrol --db NEW.gpkg merge FILE` (an \
                 export of the copy), and use NEW.gpkg on that laptop from then on"
            ),
        });
    }
    drop(conn);
    Ok((device, site, since, older))
}
