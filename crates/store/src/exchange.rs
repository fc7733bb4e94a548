//! What moving databases by file (patrol-sync) needs of the store: the
//! export marks, a consistent copy, the ledger of merged files, and a
//! connection with an untrusted file attached for the merge itself.
//!
//! Only the store issues SQL on its database; patrol-sync issues it on an
//! [`Attached`] handle (the incoming file attached read-only, its rows
//! united into ours) and on files of its own (the copy being exported, the
//! private copy of an incoming file).

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension};

use crate::{Store, write_tx};

/// What the last exports held: every row with a higher hlc, or a higher
/// local row number (per table), is new since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportMarks {
    /// The highest hlc exported.
    pub hlc: i64,
    /// The highest local row number exported, per table.
    pub fids: BTreeMap<String, i64>,
}

/// One file merged into this database, as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    /// blake3 of the file's bytes, hex.
    pub file_digest: String,
    /// The file's name as it was merged (no directory).
    pub file_name: String,
    /// The device that made the file (its `patrol_meta`), not this one.
    pub device_id: String,
    /// The site of the file (its `patrol_meta`).
    pub site_id: String,
    /// RFC 3339, UTC.
    pub merged_at: String,
    /// What the merge added, as JSON.
    pub counts: String,
    /// The site's name, when this database knows the site.
    pub site_name: Option<String>,
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM main.patrol_meta WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

/// Set a `patrol_meta` value (of this database, or of a copy being exported).
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO main.patrol_meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn marks(conn: &Connection) -> rusqlite::Result<ExportMarks> {
    Ok(ExportMarks {
        hlc: meta(conn, "last_export_hlc")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        fids: meta(conn, "last_export_fids")?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default(),
    })
}

/// Whether a file with this digest is in the ledger (merged before).
pub fn in_ledger(conn: &Connection, digest: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM main.ledger WHERE file_digest = ?1",
            [digest],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

impl Store {
    /// What the exports so far held.
    pub fn export_marks(&self) -> rusqlite::Result<ExportMarks> {
        marks(&self.conn)
    }

    /// Remember that an export held rows up to hlc `upto` and these row
    /// numbers (each mark only ever grows).
    pub fn remember_export(
        &self,
        upto: i64,
        new_marks: BTreeMap<String, i64>,
    ) -> rusqlite::Result<()> {
        let tx = write_tx(&self.conn)?;
        let mut stored = marks(&tx)?;
        set_meta(&tx, "last_export_hlc", &stored.hlc.max(upto).to_string())?;
        for (t, m) in new_marks {
            let e = stored.fids.entry(t).or_insert(0);
            *e = (*e).max(m);
        }
        set_meta(
            &tx,
            "last_export_fids",
            &serde_json::to_string(&stored.fids).expect("marks serialise"),
        )?;
        tx.commit()
    }

    /// One consistent, self-contained copy of the database at `path`
    /// (`VACUUM INTO`: rollback-journal mode, no `-wal`).
    pub fn copy_into(&self, path: &Path) -> rusqlite::Result<()> {
        self.conn
            .execute("VACUUM INTO ?1", [path.to_string_lossy()])?;
        Ok(())
    }

    /// Whether a file with this digest was merged here before.
    pub fn in_ledger(&self, digest: &str) -> rusqlite::Result<bool> {
        in_ledger(&self.conn, digest)
    }

    /// The files merged into this database, oldest first.
    pub fn ledger(&self) -> rusqlite::Result<Vec<LedgerRow>> {
        self.conn
            .prepare(
                "SELECT l.file_digest, l.file_name, l.device_id, l.site_id, l.merged_at, l.counts, s.name
                 FROM main.ledger l LEFT JOIN main.sites s ON s.site_id = l.site_id ORDER BY l.fid",
            )?
            .query_map([], |r| {
                Ok(LedgerRow {
                    file_digest: r.get(0)?,
                    file_name: r.get(1)?,
                    device_id: r.get(2)?,
                    site_id: r.get(3)?,
                    merged_at: r.get(4)?,
                    counts: r.get(5)?,
                    site_name: r.get(6)?,
                })
            })?
            .collect()
    }

    /// Attach an untrusted file (given as a `file:` URI, opened read-only
    /// and immutable) as `schema`, with the connection in defensive mode
    /// while it is attached. Dropping the handle detaches it and turns the
    /// defensive mode off again, whatever happened meanwhile.
    pub fn attach_untrusted(&mut self, uri: &str, schema: &str) -> rusqlite::Result<Attached<'_>> {
        // Defensive while a stranger's file is attached (its own schema was
        // checked: no triggers, no views; ours, if GDAL added any, keep working).
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
        // From here on, dropping the handle turns the defensive mode off.
        let mut handle = Attached {
            conn: &self.conn,
            schema: schema.to_owned(),
            live: false,
        };
        handle
            .conn
            .execute("ATTACH DATABASE ?1 AS ?2", [uri, schema])?;
        handle.live = true;
        Ok(handle)
    }
}

/// This database's connection with an untrusted file attached: the only
/// connection to the store's database on which another crate issues SQL
/// (patrol-sync's merge: it reads the attached file and unites its rows into
/// ours, in one transaction begun with [`crate::write_tx`]).
pub struct Attached<'s> {
    conn: &'s Connection,
    schema: String,
    live: bool,
}

impl std::fmt::Debug for Attached<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Attached<'_> {
    /// The connection, the untrusted file attached.
    pub fn conn(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        // Leave the connection as we found it, whatever happened.
        if self.live {
            let _ = self.conn.execute("DETACH DATABASE ?1", [&self.schema]);
        }
        let _ = self
            .conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, false);
    }
}
