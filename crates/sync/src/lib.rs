//! patrol-sync: moving patrol databases between laptops by file.
//!
//! An outpost [`export`]s its database (a GeoPackage, like the database
//! itself); a coordinator [`merge`]s the files into a central database, and
//! central databases into a regional one, with the same operation. A merge is
//! a set union of immutable rows (record versions, track pieces, effort
//! summaries, boundaries), so merging is idempotent, commutative and
//! associative: any files, in any order and grouping, any number of times,
//! give the same data ([`digest`] says so). Incoming files are untrusted: they
//! are checked before any of their rows is read (see docs/SYNC.md).

#![warn(missing_docs)]

mod conflicts;
mod digest;
mod export;
mod merge;
mod untrusted;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use conflicts::{Conflict, ConflictHead, conflicts};
pub use digest::digest;
pub use export::{ExportReport, export};
pub use merge::{ledger, merge};

/// Why a file could not be exported or merged. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A file could not be read, written, copied or removed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The incoming file is larger than the merge accepts (`Limits`).
    #[error("{file}: {size} bytes is more than the limit of {limit} bytes")]
    TooBig {
        /// The incoming file.
        file: PathBuf,
        /// Its size, bytes.
        size: u64,
        /// The most a merge takes (`Limits::max_bytes`), bytes.
        limit: u64,
    },
    /// The incoming file's header is not a SQLite database's (too short, wrong magic, unknown format version).
    #[error("{file}: not a SQLite database: {why}")]
    NotSqlite {
        /// The incoming file.
        file: PathBuf,
        /// What in the header is wrong, for a person.
        why: String,
    },
    /// The incoming file is in WAL mode: without its `-wal` file it may not hold all its data.
    #[error(
        "{file}: the database is in WAL mode; export it with `patrol export`, which writes one self-contained file"
    )]
    Wal {
        /// The incoming file.
        file: PathBuf,
    },
    /// A non-empty rollback journal lies beside the incoming file: a writer stopped mid-transaction.
    #[error(
        "{file}: a hot journal is beside it ({journal}): the program writing the database stopped \
         (a crash, a pulled USB stick) before finishing a transaction, so the file alone is not what \
         it held. On the machine that wrote it, open the database with patrol (e.g. `patrol --db FILE \
         check`) or `sqlite3 FILE 'PRAGMA quick_check'` with the journal beside it, so SQLite rolls \
         the journal back; then export again with `patrol export` and send that file"
    )]
    HotJournal {
        /// The incoming file.
        file: PathBuf,
        /// The journal beside it (`FILE-journal`).
        journal: PathBuf,
    },
    /// The incoming SQLite file's application id is not GeoPackage's 'GPKG'.
    #[error(
        "{file}: not a GeoPackage (application_id is {found:#010x}, expected 0x47504b47 'GPKG')"
    )]
    NotGeoPackage {
        /// The incoming file.
        file: PathBuf,
        /// The application id it has.
        found: u32,
    },
    /// SQLite could not open, read or check the incoming file: it is damaged.
    #[error("{file}: the database is damaged: {detail}")]
    Corrupt {
        /// The incoming file.
        file: PathBuf,
        /// SQLite's message.
        detail: String,
    },
    /// The incoming file's schema is newer than this build knows.
    #[error(
        "{file}: made by a newer patrol (schema {found}, this one knows {known}); upgrade patrol"
    )]
    NewerSchema {
        /// The incoming file.
        file: PathBuf,
        /// The schema version the file holds.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// The incoming file's tables, columns, triggers or encoding are not those patrol writes.
    #[error("{file}: not a patrol database of the expected layout: {detail}")]
    Schema {
        /// The incoming file.
        file: PathBuf,
        /// What differs, for a person.
        detail: String,
    },
    /// A row of the incoming file breaks a rule of docs/SYNC.md (a value out of range, a dangling reference); nothing is merged.
    #[error("{file}: bad row in {table} ({id}): {what}; the file was not merged")]
    BadRow {
        /// The incoming file.
        file: PathBuf,
        /// The table the row is in.
        table: String,
        /// The row's key in that table.
        id: String,
        /// Which value breaks which rule, for a person.
        what: String,
    },
    /// A delta export (`--since-last-export`) was refused: the source will not send these rows again.
    #[error(
        "{source}. The file is a delta (rows since hlc {since}): the next delta from that database \
         will not carry these rows again, so once the cause is put right, send a full export \
         (`patrol export` without `--since-last-export`)"
    )]
    RejectedDelta {
        /// The hlc the delta starts after: it holds the rows made since.
        since: i64,
        /// Why the file was refused.
        #[source]
        source: Box<SyncError>,
    },
    /// A row's hlc is more than one day ahead of this machine's clock; nothing is merged.
    #[error(
        "{file}: device {device}'s clock was {days} days ahead of this machine's when it made \
         {table} {id} (hlc {hlc}); a merge accepts at most one day ahead, so that one wrong clock \
         cannot win every conflict and push every database's clock forward. Not merged. Set the \
         clocks right (this machine's too, if it is the one behind); rows made while a clock was \
         wrong keep their time, so if this machine is right, make that device's rows of that time \
         again in a database created with `patrol init --join` after its clock is set"
    )]
    ClockAhead {
        /// The incoming file.
        file: PathBuf,
        /// The device that made the row.
        device: String,
        /// How far ahead of this machine's clock the row's time is, whole days (rounded down).
        days: i64,
        /// The row's table.
        table: String,
        /// The row's key in that table.
        id: String,
        /// The row's hybrid logical clock (milliseconds since 1970 UTC << 16, plus a counter).
        hlc: i64,
    },
    /// The incoming file carries this database's own device id: it is this database or a copy of it.
    #[error("{file}: copied database: {detail}")]
    CopiedDatabase {
        /// The incoming file.
        file: PathBuf,
        /// What was found and how to give a copy its own id.
        detail: String,
    },
    /// Something asked of export or merge does not make sense (e.g. exporting onto the database itself).
    #[error("{file}: {what}")]
    Invalid {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong, for a person.
        what: String,
    },
    /// SQLite failed on the file, its copy, or our database.
    #[error("{file}: database error: {source}")]
    Sqlite {
        /// The file being exported or merged.
        file: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The store failed while exporting or merging the file.
    #[error("{file}: {source}")]
    Store {
        /// The file being exported or merged.
        file: PathBuf,
        /// The store's error.
        #[source]
        source: patrol_store::StoreError,
    },
}

impl SyncError {
    /// The file is damaged: SQLite failed reading it.
    pub(crate) fn corrupt(file: &Path) -> impl Fn(rusqlite::Error) -> SyncError + Copy + '_ {
        move |e| SyncError::Corrupt {
            file: file.to_owned(),
            detail: e.to_string(),
        }
    }
    /// The file's schema is not ours.
    pub(crate) fn schema(file: &Path) -> impl Fn(String) -> SyncError + Copy + '_ {
        move |detail| SyncError::Schema {
            file: file.to_owned(),
            detail,
        }
    }
    pub(crate) fn sqlite(file: &Path) -> impl Fn(rusqlite::Error) -> SyncError + '_ {
        move |source| SyncError::Sqlite {
            file: file.to_owned(),
            source,
        }
    }
    pub(crate) fn store(file: &Path) -> impl Fn(patrol_store::StoreError) -> SyncError + '_ {
        move |source| SyncError::Store {
            file: file.to_owned(),
            source,
        }
    }
    pub(crate) fn io(file: &Path) -> impl Fn(std::io::Error) -> SyncError + '_ {
        move |source| SyncError::Io {
            file: file.to_owned(),
            source,
        }
    }
}

/// Limits on what a merge accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file merged, in bytes.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 2 << 30 }
    }
}

/// What became of one merged file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeStatus {
    /// Its new rows are in this database (perhaps none, when it held nothing new).
    Merged,
    /// Merged before (its digest is in the ledger): nothing changed.
    Duplicate,
    /// Refused whole: nothing changed.
    Rejected,
}

/// What a merge added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeCounts {
    /// Record versions (patrol, leg, observation) and boundaries new here.
    pub new_versions: u64,
    /// Records (patrols, legs, observations) seen here for the first time.
    pub records_added: u64,
    /// Records that were here and gained versions.
    pub records_changed: u64,
    /// Records the merge touched that now have more than one head.
    pub conflicts: u64,
    /// Incoming rows that reuse an id held here with different content.
    pub quarantined: u64,
    /// Track pieces new here.
    pub track_pieces: u64,
}

/// The outcome of merging one file (also `merge --json`'s objects).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// The file's path as given.
    pub file: String,
    /// Merged, a duplicate, or rejected.
    pub status: MergeStatus,
    /// Flattened: `merge --json` shows the counts beside file and status.
    #[serde(flatten)]
    pub counts: MergeCounts,
    /// Why the file was rejected (the error's message); `None` when it was not.
    pub error: Option<String>,
}

impl MergeReport {
    pub(crate) fn new(file: &Path, status: MergeStatus, counts: MergeCounts) -> Self {
        MergeReport {
            file: file.display().to_string(),
            status,
            counts,
            error: None,
        }
    }

    /// The report of a file [`merge`] refused.
    pub fn rejected(file: &Path, error: &SyncError) -> Self {
        let mut r = Self::new(file, MergeStatus::Rejected, MergeCounts::default());
        r.error = Some(error.to_string());
        r
    }
}

/// One file merged into this database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// blake3 of the file's bytes, hex.
    pub file_digest: String,
    /// The file's name as it was merged (no directory).
    pub file_name: String,
    /// The device whose database the file was exported from, and its site.
    pub device_id: String,
    /// The site of the database the file was exported from.
    pub site_id: String,
    /// RFC 3339, UTC.
    pub merged_at: String,
    /// What the merge of the file added.
    pub counts: MergeCounts,
    /// The site's name, when this database knows the site (JSON names are
    /// kept: `site_name` beside `site_id`).
    pub site_name: Option<String>,
    /// The file's name again, under the name every output gives a file.
    pub file: String,
}

/// The tables merged by set union, with their natural key, in merge order.
pub(crate) const UNION_TABLES: &[(&str, &str)] = &[
    ("sites", "site_id"),
    ("devices", "device_id"),
    ("categories", "key"),
    ("model_versions", "version_id"),
    ("patrol_versions", "version_id"),
    ("leg_versions", "version_id"),
    ("observation_versions", "version_id"),
    ("tracks", "piece_id"),
    ("site_boundaries", "version_id"),
    ("qc_settings", "site_id"),
];

/// Rows derived per leg from its track and head version: copied with a leg
/// that is new here, derived again here otherwise (see `merge`).
pub(crate) const LEG_DERIVED_TABLES: &[(&str, &str)] = &[
    ("leg_days", "leg_id, date"),
    ("leg_qc", "leg_id"),
    ("fix_marks", "leg_id, segment_no, point_no"),
    ("fix_samples", "leg_id, t_s, lon, lat"),
];

/// The current-state tables, derived from the versions.
pub(crate) const DERIVED_TABLES: &[(&str, &str)] = &[
    ("model_definitions", "record_key"),
    ("patrols", "patrol_id"),
    ("legs", "leg_id"),
    ("observations", "observation_id"),
];

/// Tables whose rows carry (device_id, hlc): made on one device at one time.
pub(crate) const STAMPED_TABLES: &[(&str, &str)] = &[
    ("model_versions", "version_id"),
    ("patrol_versions", "version_id"),
    ("leg_versions", "version_id"),
    ("observation_versions", "version_id"),
    ("tracks", "piece_id"),
    ("site_boundaries", "version_id"),
];

/// The column names of a table (in `schema`), without `fid`.
pub(crate) fn columns(
    conn: &rusqlite::Connection,
    schema: &str,
    table: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid")?;
    let cols = stmt
        .query_map([table, schema], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols.into_iter().filter(|c| c != "fid").collect())
}
