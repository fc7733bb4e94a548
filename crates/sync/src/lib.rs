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
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {size} bytes is more than the limit of {limit} bytes")]
    TooBig {
        file: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{file}: not a SQLite database: {why}")]
    NotSqlite { file: PathBuf, why: String },
    #[error(
        "{file}: the database is in WAL mode; export it with `patrol export`, which writes one self-contained file"
    )]
    Wal { file: PathBuf },
    #[error(
        "{file}: a hot journal is beside it ({journal}): the program writing the database stopped \
         (a crash, a pulled USB stick) before finishing a transaction, so the file alone is not what \
         it held. On the machine that wrote it, open the database with patrol (e.g. `patrol --db FILE \
         check`) or `sqlite3 FILE 'PRAGMA quick_check'` with the journal beside it, so SQLite rolls \
         the journal back; then export again with `patrol export` and send that file"
    )]
    HotJournal { file: PathBuf, journal: PathBuf },
    #[error(
        "{file}: not a GeoPackage (application_id is {found:#010x}, expected 0x47504b47 'GPKG')"
    )]
    NotGeoPackage { file: PathBuf, found: u32 },
    #[error("{file}: the database is damaged: {detail}")]
    Corrupt { file: PathBuf, detail: String },
    #[error(
        "{file}: made by a newer patrol (schema {found}, this one knows {known}); upgrade patrol"
    )]
    NewerSchema {
        file: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{file}: not a patrol database of the expected layout: {detail}")]
    Schema { file: PathBuf, detail: String },
    #[error("{file}: bad row in {table} ({id}): {what}; the file was not merged")]
    BadRow {
        file: PathBuf,
        table: String,
        id: String,
        what: String,
    },
    #[error(
        "{source}. The file is a delta (rows since hlc {since}): the next delta from that database \
         will not carry these rows again, so once the cause is put right, send a full export \
         (`patrol export` without `--since-last-export`)"
    )]
    RejectedDelta {
        since: i64,
        #[source]
        source: Box<SyncError>,
    },
    #[error(
        "{file}: device {device}'s clock was {days} days ahead of this machine's when it made \
         {table} {id} (hlc {hlc}); a merge accepts at most one day ahead, so that one wrong clock \
         cannot win every conflict and push every database's clock forward. Not merged. Set the \
         clocks right (this machine's too, if it is the one behind); rows made while a clock was \
         wrong keep their time, so if this machine is right, make that device's rows of that time \
         again in a database created with `patrol init --join` after its clock is set"
    )]
    ClockAhead {
        file: PathBuf,
        device: String,
        days: i64,
        table: String,
        id: String,
        hlc: i64,
    },
    #[error("{file}: copied database: {detail}")]
    CopiedDatabase { file: PathBuf, detail: String },
    #[error("{file}: {what}")]
    Invalid { file: PathBuf, what: String },
    #[error("{file}: database error: {source}")]
    Sqlite {
        file: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{file}: {source}")]
    Store {
        file: PathBuf,
        #[source]
        source: patrol_store::StoreError,
    },
}

impl SyncError {
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
    pub file: String,
    pub status: MergeStatus,
    /// Flattened: `merge --json` shows the counts beside file and status.
    #[serde(flatten)]
    pub counts: MergeCounts,
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
    pub file_name: String,
    /// The device whose database the file was exported from, and its site.
    pub device_id: String,
    pub site_id: String,
    /// RFC 3339, UTC.
    pub merged_at: String,
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
    ("patrols", "patrol_id"),
    ("legs", "leg_id"),
    ("observations", "observation_id"),
];

/// Tables whose rows carry (device_id, hlc): made on one device at one time.
pub(crate) const STAMPED_TABLES: &[(&str, &str)] = &[
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
