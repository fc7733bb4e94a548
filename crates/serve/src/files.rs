//! Files to import: SMART patrol XML told from GPX by its root element (for
//! `patrol import` and the web app alike), and uploads (to import or merge)
//! written to a private folder under their own (sanitised) names, since
//! import and merge reports name the file.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use patrol_store::import::{Batching, ImportError, ImportOptions, ImportReport, file_digest};
use patrol_store::{Store, StoreError};

use crate::web::AppError;

/// Whether a file is SMART patrol XML: its root element, not its name.
pub fn is_smart_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(8192);
    std::fs::File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .is_ok_and(|_| patrol_smart::is_smart_patrol(&head))
}

/// Import one SMART patrol file: what it became, or why it failed.
pub fn import_smart_file(store: &mut Store, path: &Path, opts: &ImportOptions) -> ImportReport {
    let fail = |message: String| {
        ImportReport::failed(path, &ImportError::Store(StoreError::Invalid(message)))
    };
    let digest = match file_digest(path) {
        Ok(d) => d,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let zone = match patrol_core::time::parse_zone(&store.site().timezone) {
        Ok(z) => z,
        Err(e) => return fail(e.to_string()),
    };
    let patrol = match patrol_smart::read_patrol_file(path, zone) {
        Ok(p) => p,
        Err(e @ patrol_smart::SmartError::Io { .. }) => return fail(e.to_string()),
        Err(e) => {
            return fail(format!(
                "{}:{}",
                path.display(),
                e.to_string().trim_start_matches("line ")
            ));
        }
    };
    store
        .import_recorded(&patrol, path, &digest, opts)
        .unwrap_or_else(|e| ImportReport::failed(path, &e))
}

/// An upload's file name as a plain file name: its last part (after any `/`
/// or `\`), letters, digits, `.`, `-`, `_`, `(`, `)` and spaces kept, other
/// characters `_`, no leading dot, at most 100 characters; `upload.gpx` when
/// nothing is left.
pub fn sanitise(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let kept = kept.trim().trim_start_matches('.').trim();
    if kept.is_empty() {
        "upload.gpx".into()
    } else {
        kept.to_owned()
    }
}

/// A name for an upload in `dir` not taken yet: the sanitised name, else
/// `2-name`, `3-name`...
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    let name = sanitise(name);
    let mut path = dir.join(&name);
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{n}-{name}"));
        n += 1;
    }
    path
}

/// Save the upload of a multipart file field to `dir` under its own
/// (sanitised, free) name: its path, or `None` for a form sent with no file
/// chosen. Nothing is read from it but its bytes.
pub async fn save_upload(
    dir: &Path,
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<Option<PathBuf>, AppError> {
    use std::io::Write as _;
    let Some(file_name) = field.file_name().map(str::to_owned) else {
        return Err(AppError::bad_request("a file field without a file name"));
    };
    if file_name.is_empty() {
        return Ok(None);
    }
    let io = |e: std::io::Error| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let path = free_name(dir, &file_name);
    let mut out = std::fs::File::create_new(&path).map_err(io)?;
    while let Some(chunk) = field.chunk().await.map_err(|e| upload_error(&e))? {
        out.write_all(&chunk).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(Some(path))
}

/// An upload that could not be read (cut off, over the size limit).
pub fn upload_error(e: &axum::extract::multipart::MultipartError) -> AppError {
    AppError::new(e.status(), format!("the upload: {}", e.body_text()))
}

/// A report's text without the private folder `dir`: files named by their
/// name alone.
pub fn without_dir(dir: &Path, text: &str) -> String {
    text.replace(
        &format!("{}{}", dir.display(), std::path::MAIN_SEPARATOR),
        "",
    )
}

/// Import the files uploaded to `dir` as `patrol import` does: the GPX files
/// in one run (many to a transaction), then each SMART file. Reports name
/// each file by its name alone, not the private folder.
pub fn import_uploads(
    store: &mut Store,
    dir: &Path,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> Result<Vec<ImportReport>, StoreError> {
    let (smart, gpx): (Vec<PathBuf>, Vec<PathBuf>) =
        files.iter().cloned().partition(|p| is_smart_file(p));
    let mut reports = Vec::with_capacity(files.len());
    let run = store.import_files(
        &gpx,
        opts,
        Batching::default(),
        &mut |_, _| {},
        &mut |durable| reports.extend(durable),
    );
    if run.is_ok() {
        for path in &smart {
            reports.push(import_smart_file(store, path, opts));
        }
    }
    for r in &mut reports {
        r.file = without_dir(dir, &r.file);
        if let Some(e) = &mut r.error {
            *e = without_dir(dir, e);
        }
        for w in &mut r.warnings {
            w.message = without_dir(dir, &w.message);
        }
    }
    run.map(|()| reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_plain_file_names() {
        assert_eq!(sanitise("Track_04-OCT-26.gpx"), "Track_04-OCT-26.gpx");
        assert_eq!(sanitise("../../etc/passwd"), "passwd");
        assert_eq!(sanitise("C:\\gps\\a b.gpx"), "a b.gpx");
        assert_eq!(sanitise("..."), "upload.gpx");
        assert_eq!(sanitise(".hidden.gpx"), "hidden.gpx");
        assert_eq!(sanitise("a<script>.gpx"), "a_script_.gpx");
        assert_eq!(sanitise("x\0y\n.gpx"), "x_y_.gpx");
        assert_eq!(sanitise(""), "upload.gpx");
        assert_eq!(sanitise(&"a".repeat(300)).len(), 100);
        let dir = tempfile::tempdir().unwrap();
        let first = free_name(dir.path(), "t.gpx");
        std::fs::write(&first, "").unwrap();
        assert_eq!(
            free_name(dir.path(), "t.gpx").file_name().unwrap(),
            "2-t.gpx"
        );
    }
}
