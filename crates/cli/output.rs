//! Files the user names for output (reports, CSV tables, exports, the demo's
//! files): never written onto a database, never over an existing file without
//! `--force`, and always whole: through a temporary file in the same folder,
//! renamed into place, so a crash never leaves half a file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Where a command may write, and whether it may replace files.
#[derive(Debug, Clone)]
pub struct Output {
    /// The database the command has open (never written as output).
    db: Option<PathBuf>,
    force: bool,
}

/// Whether a file starts with SQLite's header (a patrol database, an export,
/// or any other SQLite file).
pub fn is_sqlite(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Output {
    pub fn new(db: Option<&Path>, force: bool) -> Self {
        Output {
            db: db.map(Path::to_owned),
            force,
        }
    }

    /// Refuse to write `path` if it is the open database, any SQLite file
    /// (even with `--force`), a folder, or an existing file without `--force`.
    pub fn check(&self, path: &Path) -> Result<()> {
        if self.db.as_deref().is_some_and(|db| same_file(db, path)) {
            bail!(
                "{}: that is the database this command uses; refusing to write over it (give another file name)",
                path.display()
            );
        }
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        if meta.is_dir() {
            bail!("{}: a folder is there; give a file name", path.display());
        }
        if is_sqlite(path) {
            bail!(
                "{}: a database (SQLite file) is there; patrol never writes over one, even with --force (give another file name, or move that file away first)",
                path.display()
            );
        }
        if !self.force {
            bail!(
                "{}: a file is already there; give --force to replace it, or another file name",
                path.display()
            );
        }
        Ok(())
    }

    /// Whether an existing file at a checked path may be replaced.
    pub fn force(&self) -> bool {
        self.force
    }

    /// Write `bytes` to `path`: checked, then through a temporary file in the
    /// same folder, synced and renamed into place.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.check(path)?;
        let tmp = temp_path(path);
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", path.display()));
        }
        // Checked again just before the rename: something may have appeared.
        if let Err(e) = self.check(path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", path.display()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

/// `.NAME.PID-NANOS.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    path.with_file_name(format!(".{name}.{}-{nanos}.tmp", std::process::id()))
}
