//! `/sync`: what `patrol export`, `merge`, `ledger` and `conflicts` do, in
//! the browser, by the same patrol-sync calls. The API's bodies are the
//! CLI's `--json` bodies.
//!
//! The web export is a full export (the CLI's default, without
//! `--since-last-export`): a download can be lost, and a delta's rows are
//! not sent again. It is a POST with the CSRF token, since an export changes
//! the database (it remembers what was exported).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patrol_report::html::escape;
use patrol_store::Store;
use patrol_store::conflicts::{Conflict, shown_id};
use patrol_sync::{LedgerEntry, Limits, MergeReport, SyncError};
use serde::Deserialize;

use crate::Shared;
use crate::auth::{Who, csrf_field};
use crate::pages::{Nav, enc, error_page, html_page, layout, local_time, site_zone};
use crate::web::{AppError, json_body, with_store};

/// The content type of a GeoPackage (OGC's registration).
const GPKG: &str = "application/geopackage+sqlite3";

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A sync error as an answer; the private folder `dir` left out of it.
fn sync_error(dir: Option<&Path>, e: &SyncError) -> AppError {
    let message = e.to_string();
    let message = dir.map_or_else(
        || message.clone(),
        |d| crate::files::without_dir(d, &message),
    );
    let status = match e {
        SyncError::Invalid { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    AppError::new(status, message)
}

/// Refused when the database cannot be written: nothing changes.
fn writable(store: &Store) -> Result<(), AppError> {
    if store.writable() {
        Ok(())
    } else {
        Err(AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is read-only; nothing was changed",
        ))
    }
}

/// One writer of ours at a time (the CLI beside us is waited for by
/// SQLite's busy timeout).
fn writing(state: &Shared) -> std::sync::MutexGuard<'_, ()> {
    state
        .writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `SITE-YYYY-MM-DD.gpkg` (today in the site's zone), the site's name in
/// letters, digits, `-` and `_`: `ascii` for every browser, `unicode` for
/// those that read `filename*`.
fn export_names(site: &str, date: &str) -> (String, String) {
    let clean = |keep: fn(char) -> bool| {
        let mut out = String::new();
        for c in site.chars() {
            if keep(c) || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        let out = out.trim_matches('-');
        format!(
            "{}-{date}.gpkg",
            if out.is_empty() { "patrol" } else { out }
        )
    };
    (
        clean(|c| c.is_ascii_alphanumeric()),
        clean(char::is_alphanumeric),
    )
}

/// The exported file as a body; its private folder (and so the file) is
/// removed when the body is done with, sent whole or not.
struct ExportBody {
    file: tokio::fs::File,
    buf: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl futures_core::Stream for ExportBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut read = tokio::io::ReadBuf::new(&mut this.buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut this.file), cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(None),
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(read.filled())))),
        }
    }
}

/// `POST /sync/export.gpkg`: `patrol export --out SITE-DATE.gpkg`, written
/// to a private folder and sent as a download.
pub async fn export(State(state): State<Shared>, Extension(who): Extension<Who>) -> Response {
    let s = state.clone();
    let made = with_store(&state, move |store| {
        let dir = tempfile::Builder::new()
            .prefix("patrol-export-")
            .tempdir()
            .map_err(internal)?;
        let date = chrono::Utc::now()
            .with_timezone(&site_zone(store))
            .format("%Y-%m-%d")
            .to_string();
        let names = export_names(&store.site().name, &date);
        let path = dir.path().join(&names.0);
        let _writing = writing(&s);
        let report = patrol_sync::export(store, &path, false, false)
            .map_err(|e| sync_error(Some(dir.path()), &e))?;
        let file = std::fs::File::open(&path).map_err(internal)?;
        let mut report = report;
        report.warning = report
            .warning
            .map(|w| crate::files::without_dir(dir.path(), &w));
        Ok((dir, file, names, report))
    })
    .await;
    let (dir, file, (ascii, unicode), report) = match made {
        Ok(m) => m,
        Err(e) => return error_page(&who, &e),
    };
    let body = ExportBody {
        file: tokio::fs::File::from_std(file),
        buf: vec![0; 64 * 1024],
        _dir: dir,
    };
    let mut response = Body::from_stream(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(GPKG));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        enc(&unicode)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(report.bytes));
    // The file is good; the database could not remember the export.
    if let Some(w) = &report.warning
        && let Ok(v) = HeaderValue::from_str(&w.replace(|c: char| !c.is_ascii_graphic(), " "))
    {
        h.insert("x-patrol-warning", v);
    }
    response
}

/// `POST /api/merge`, multipart: `file`, one or more (files exported by
/// `patrol export`); each merged as `patrol merge` merges it (a rejected
/// file changes nothing), answered as `patrol merge --json`, each file
/// named by its name alone.
pub async fn merge(State(state): State<Shared>, mut form: Multipart) -> Result<Response, AppError> {
    let dir = tempfile::Builder::new()
        .prefix("patrol-merge-")
        .tempdir()
        .map_err(internal)?;
    let mut files: Vec<PathBuf> = Vec::new();
    // Every file is whole in the folder before anything is merged: an
    // upload cut off or over the limit merges nothing.
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| crate::files::upload_error(&e))?
    {
        if field.name() == Some("file") {
            files.extend(crate::files::save_upload(dir.path(), &mut field).await?);
        }
    }
    if files.is_empty() {
        return Err(AppError::bad_request(
            "no file: choose one or more files exported by `patrol export`",
        ));
    }
    let s = state.clone();
    let reports: Vec<MergeReport> = with_store(&state, move |store| {
        writable(store)?;
        let _writing = writing(&s);
        let limits = Limits::default();
        let reports = files
            .iter()
            .map(|file| {
                let mut r = patrol_sync::merge(store, file, &limits)
                    .unwrap_or_else(|e| MergeReport::rejected(file, &e));
                r.file = crate::files::without_dir(dir.path(), &r.file);
                r.error = r.error.map(|e| crate::files::without_dir(dir.path(), &e));
                r
            })
            .collect();
        drop(dir);
        Ok(reports)
    })
    .await?;
    json_body(&reports)
}

/// `GET /api/ledger`: `patrol ledger --json`.
pub async fn ledger(State(state): State<Shared>) -> Result<Response, AppError> {
    let rows = with_store(&state, |store| {
        patrol_sync::ledger(store).map_err(|e| sync_error(None, &e))
    })
    .await?;
    json_body(&rows)
}

/// `GET /api/conflicts`: `patrol conflicts --json`.
pub async fn conflicts(State(state): State<Shared>) -> Result<Response, AppError> {
    let list = with_store(&state, |store| {
        patrol_sync::conflicts(store).map_err(|e| sync_error(None, &e))
    })
    .await?;
    json_body(&list)
}

/// What a "Keep this version" button sends: `patrol conflicts resolve
/// RECORD --keep VERSION`'s arguments.
#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    pub record: String,
    pub keep: String,
}

/// `POST /api/conflicts/resolve` (JSON or a form of `record` and `keep`):
/// answered as `patrol conflicts resolve --json`.
pub async fn resolve(
    State(state): State<Shared>,
    headers: axum::http::HeaderMap,
    bytes: Bytes,
) -> Result<Response, AppError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let f: ResolveForm = if form {
        let mut f = ResolveForm::default();
        for (k, v) in crate::auth::form_fields(&bytes) {
            match k.as_str() {
                "record" => f.record = v,
                "keep" => f.keep = v,
                _ => {}
            }
        }
        f
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| AppError::bad_request(format!("the resolution: {e}")))?
    };
    if f.record.trim().is_empty() || f.keep.trim().is_empty() {
        return Err(AppError::bad_request(
            "give the record and the version to keep (record, keep)",
        ));
    }
    let s = state.clone();
    let resolved = with_store(&state, move |store| {
        writable(store)?;
        let _writing = writing(&s);
        Ok(store.resolve_named_conflict(&f.record, &f.keep)?)
    })
    .await?;
    json_body(&resolved)
}

/// `GET /sync`: the export button, the drop zone for files to merge, the
/// conflicts side by side, the ledger.
pub async fn page(State(state): State<Shared>, Extension(who): Extension<Who>) -> Response {
    let w = who.clone();
    html_page(
        &who,
        with_store(&state, move |store| {
            let ledger = patrol_sync::ledger(store).map_err(|e| sync_error(None, &e))?;
            let conflicts = patrol_sync::conflicts(store).map_err(|e| sync_error(None, &e))?;
            // A leg's or an observation's conflict links its patrol.
            let mut patrols = std::collections::HashMap::new();
            for c in &conflicts {
                if let Some(p) = store.patrol_of(c.kind, &c.record_id)? {
                    patrols.insert(c.record_id.clone(), p);
                }
            }
            Ok(sync_page(
                &w,
                store.site().name.as_str(),
                &ledger,
                &conflicts,
                &patrols,
                site_zone(store),
            ))
        })
        .await,
    )
}

/// A hybrid logical clock as the site's local time.
fn hlc_time(hlc: i64, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(hlc >> 16).map_or_else(
        || "-".into(),
        |t| {
            t.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        },
    )
}

fn sync_page(
    who: &Who,
    site: &str,
    ledger: &[LedgerEntry],
    conflicts: &[Conflict],
    patrols: &std::collections::HashMap<String, String>,
    zone: chrono_tz::Tz,
) -> String {
    // The buttons of what the role may do (the gate's table says).
    let may = |path: &str| who.may_use(&axum::http::Method::POST, path);
    let mut b = String::from("<h1>Sync</h1>");
    b.push_str("<section id=\"export\"><h2>Export for the office</h2>");
    b.push_str("<p>A file of <strong>everything</strong> in this database (a full export, as <code>patrol export</code> writes it without <code>--since-last-export</code>), to take to the office and merge there. Merging the same data twice adds nothing, so a full export is always safe to send. (A later <code>patrol export --since-last-export</code> holds what is new after it.)</p>");
    if may("/sync/export.gpkg") {
        let _ = write!(
            b,
            "<form id=\"export-form\" method=\"post\" action=\"/sync/export.gpkg\">{}<button type=\"submit\" id=\"export-button\">Download the export</button></form>",
            csrf_field(who)
        );
    } else {
        b.push_str("<p class=\"muted\">A coordinator exports.</p>");
    }
    b.push_str("</section><section id=\"merge\"><h2>Merge files</h2>");
    if may("/api/merge") {
        b.push_str("<p>Files exported by <code>patrol export</code> on other laptops. Each is checked before any of it is read; a file refused changes nothing, and a file merged before is a duplicate.</p>");
        let _ = write!(
            b,
            "<form id=\"merge-form\" method=\"post\" action=\"/api/merge\" enctype=\"multipart/form-data\">{}<div id=\"merge-drop\" class=\"drop\"><p><strong>Drop exported files here</strong>, or choose them:</p><input type=\"file\" id=\"merge-file\" name=\"file\" multiple accept=\".gpkg,.GPKG,application/geopackage+sqlite3\"><p id=\"merge-chosen\" class=\"muted\"></p></div><p><button type=\"submit\" id=\"merge-button\">Merge</button></p></form><div id=\"merge-results\" aria-live=\"polite\"></div>",
            csrf_field(who)
        );
    } else {
        b.push_str("<p class=\"muted\">A coordinator merges.</p>");
    }
    b.push_str("</section>");
    conflicts_section(
        &mut b,
        who,
        may("/api/conflicts/resolve"),
        conflicts,
        patrols,
        zone,
    );
    ledger_section(&mut b, ledger, zone);
    layout(who, site, "Sync", Nav::Sync, &b, "")
}

fn conflicts_section(
    b: &mut String,
    who: &Who,
    may_resolve: bool,
    conflicts: &[Conflict],
    patrols: &std::collections::HashMap<String, String>,
    zone: chrono_tz::Tz,
) {
    b.push_str("<section id=\"conflicts\"><h2>Conflicts</h2>");
    if conflicts.is_empty() {
        b.push_str("<p id=\"no-conflicts\">No record was edited on two devices.</p></section>");
        return;
    }
    let _ = write!(
        b,
        "<p>{} {} edited on two devices: each version below is a head. The one marked <em>shown</em> is what the pages and reports use until a person keeps one{}.</p>",
        conflicts.len(),
        if conflicts.len() == 1 {
            "record was"
        } else {
            "records were"
        },
        if may_resolve {
            ""
        } else {
            " (a coordinator does)"
        }
    );
    for c in conflicts {
        let shown = escape(shown_id(&c.record_id));
        let name = if c.kind == "patrol" {
            format!("<a href=\"/patrols/{}\">{shown}</a>", enc(&c.record_id))
        } else if let Some(p) = patrols.get(&c.record_id) {
            format!(
                "{shown} <span class=\"muted\">of patrol <a href=\"/patrols/{}\">{}</a></span>",
                enc(p),
                escape(patrol_core::ids::short_id(p))
            )
        } else {
            shown
        };
        let _ = write!(
            b,
            "<div class=\"conflict\" data-record=\"{}\"><h3>{} {name}</h3><div class=\"heads\">",
            escape(&c.record_id),
            escape(c.kind)
        );
        for h in &c.heads {
            let _ = write!(
                b,
                "<div class=\"head{}\" data-version=\"{}\"><p class=\"muted\">version <code>{}</code><br>device <code>{}</code><br>{}{}</p><p class=\"content\">{}</p>",
                if h.shown { " shown" } else { "" },
                escape(&h.version_id),
                escape(&h.version_id),
                escape(&h.device_id),
                hlc_time(h.hlc, zone),
                if h.shown { " · <em>shown</em>" } else { "" },
                if h.deleted {
                    "<em>(deleted)</em>".to_owned()
                } else {
                    escape(&h.summary)
                }
            );
            if may_resolve {
                let _ = write!(
                    b,
                    "<form class=\"keep-form\" method=\"post\" action=\"/api/conflicts/resolve\">{}<input type=\"hidden\" name=\"record\" value=\"{}\"><input type=\"hidden\" name=\"keep\" value=\"{}\"><button type=\"submit\">Keep this version</button><span class=\"keep-result\" role=\"status\"></span></form>",
                    csrf_field(who),
                    escape(&c.record_id),
                    escape(&h.version_id)
                );
            }
            b.push_str("</div>");
        }
        b.push_str("</div></div>");
    }
    b.push_str("</section>");
}

fn ledger_section(b: &mut String, ledger: &[LedgerEntry], zone: chrono_tz::Tz) {
    b.push_str("<section id=\"ledger\"><h2>Ledger</h2>");
    if ledger.is_empty() {
        b.push_str("<p>No file has been merged into this database yet.</p></section>");
        return;
    }
    let _ = write!(
        b,
        "<p class=\"muted\">{} {} merged into this database, newest last (<a href=\"/api/ledger\">JSON</a>).</p>",
        ledger.len(),
        if ledger.len() == 1 { "file" } else { "files" }
    );
    b.push_str("<table id=\"ledger-table\"><tr><th>merged at</th><th>file</th><th>device</th><th>site</th><th class=\"n\">new versions</th><th class=\"n\">added</th><th class=\"n\">changed</th><th class=\"n\">conflicts</th><th class=\"n\">quarantined</th><th class=\"n\">track pieces</th><th>digest</th></tr>");
    for r in ledger {
        let digest: String = r.file_digest.chars().take(16).collect();
        let _ = write!(
            b,
            "<tr><td class=\"nw\">{}</td><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code title=\"{}\">{}</code></td></tr>",
            local_time(Some(&r.merged_at), zone),
            escape(&r.file_name),
            escape(&r.device_id),
            escape(patrol_core::ids::short_id(&r.device_id)),
            escape(r.site_name.as_deref().unwrap_or(&r.site_id)),
            r.counts.new_versions,
            r.counts.records_added,
            r.counts.records_changed,
            r.counts.conflicts,
            r.counts.quarantined,
            r.counts.track_pieces,
            escape(&r.file_digest),
            escape(&digest),
        );
    }
    b.push_str("</table></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_is_named_for_the_site_and_the_day() {
        assert_eq!(
            export_names("Thap Lan", "2026-10-17"),
            (
                "Thap-Lan-2026-10-17.gpkg".into(),
                "Thap-Lan-2026-10-17.gpkg".into()
            )
        );
        let (ascii, unicode) = export_names("ทับลาน / ../x", "2026-10-17");
        assert_eq!(ascii, "x-2026-10-17.gpkg");
        assert_eq!(unicode, "ทับลาน-x-2026-10-17.gpkg");
        assert_eq!(
            export_names("...", "2026-10-17").0,
            "patrol-2026-10-17.gpkg"
        );
    }

    #[test]
    fn the_page_escapes_what_files_carry() {
        let head = |v: &str, shown: bool| patrol_store::conflicts::ConflictHead {
            version_id: v.into(),
            hlc: 1 << 16,
            device_id: "<dev>".into(),
            deleted: false,
            summary: "team <script>alert(1)</script>".into(),
            shown,
        };
        let c = Conflict {
            kind: "patrol",
            record_id: "01a25326-7cd5-7308-b088-000000000001".into(),
            heads: vec![head("v1", false), head("v2", true)],
        };
        let page = sync_page(
            &Who::default(),
            "<S>",
            &[],
            &[c],
            &std::collections::HashMap::new(),
            chrono_tz::UTC,
        );
        assert!(!page.contains("<script>alert") && page.contains("&lt;script&gt;"));
        assert_eq!(page.matches("Keep this version").count(), 2);
        assert!(page.contains("href=\"/patrols/01a25326-7cd5-7308-b088-000000000001\""));
        // An observation's conflict links the patrol it is on.
        let c = Conflict {
            kind: "observation",
            record_id: "01a25326-7cd5-7308-b088-0000000000aa".into(),
            heads: vec![head("v1", false), head("v2", true)],
        };
        let patrols = std::collections::HashMap::from([(
            c.record_id.clone(),
            "01a25326-7cd5-7308-b088-000000000001".to_owned(),
        )]);
        let page = sync_page(&Who::default(), "<S>", &[], &[c], &patrols, chrono_tz::UTC);
        assert!(
            page.contains(
                "of patrol <a href=\"/patrols/01a25326-7cd5-7308-b088-000000000001\">00000001</a>"
            ),
            "{page}"
        );
    }
}
