//! `patrol serve`: the offline web app. Pages rendered here (with a little
//! vanilla script and the vendored Leaflet, all built into the binary) and
//! one JSON API under `/api/` whose bodies are the CLI's `--json` bodies,
//! made from the same structs by the same library calls.
//!
//! The store is opened per request on a blocking thread (a `Store` is not
//! `Sync`); writes go one at a time through [`State::writer`], and SQLite's
//! busy timeout makes a request wait for the CLI writing beside it.
//!
//! On loopback nobody logs in. Beyond it the database must have users
//! (`patrol user add`), who log in ([`auth`]): sessions, CSRF tokens and
//! the role rule on every route.
//!
//! Libraries never print: [`run`] says where it listens through a callback.

mod api;
mod assets;
mod auth;
pub mod basemap;
mod check;
mod edit;
mod files;
mod pages;
mod sync;
mod web;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use files::{import_smart_file, is_smart_file};

/// The default address: this computer only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The largest request body (an upload of GPX files), bytes.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// How long one request may take (an import of many large files included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is not one this computer alone reaches, and the
    /// database has no users to log in.
    #[error(
        "{0}: patrol serve listens beyond this computer only with users, who log in, and this database has none: add one with `patrol user add NAME --role ranger|manager|coordinator`, or listen on this computer only with --listen 127.0.0.1:PORT (the default is {DEFAULT_LISTEN})"
    )]
    NotLoopback(String),
    /// The address could not be read.
    #[error("--listen {0}: not an address (give IP:PORT, e.g. {DEFAULT_LISTEN})")]
    BadAddress(String),
    /// The basemap file is not one the map can draw.
    #[error("--basemap {0}")]
    Basemap(basemap::BasemapError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] patrol_store::StoreError),
    /// The socket or the runtime failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the server needs to know.
#[derive(Clone, Debug)]
pub struct Options {
    /// The database file.
    pub db: PathBuf,
    /// Where to listen: IP:PORT or localhost:PORT (port 0: any free port).
    pub listen: String,
    /// An offline basemap drawn under the maps: a raster MBTiles or
    /// PMTiles file ([`basemap`]); without it, a plain background.
    pub basemap: Option<PathBuf>,
}

/// What every request handler shares.
pub(crate) struct State {
    pub db: PathBuf,
    /// Held while a request writes: one writer of ours at a time.
    pub writer: std::sync::Mutex<()>,
    /// The address listened on (the Host header may name it).
    pub listen: std::net::IpAddr,
    /// The logged-in sessions; `None` on loopback, where nobody logs in.
    pub sessions: Option<auth::Sessions>,
    /// The offline basemap, opened and checked before listening.
    pub basemap: Option<basemap::Basemap>,
}

pub(crate) type Shared = Arc<State>;

/// The address to listen on, and whether it is loopback only (whether
/// nobody needs to log in).
pub fn listen_address(listen: &str) -> Result<(SocketAddr, bool), ServeError> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|_| ServeError::BadAddress(listen.to_owned()))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(ServeError::BadAddress(listen.to_owned()));
    };
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    Ok((first, loopback))
}

/// The app: every route and its limits.
pub(crate) fn app(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::patrols))
        .route("/patrols/{id}", get(pages::patrol))
        .route("/import", get(pages::import))
        .route("/report", get(pages::report))
        .route("/report.html", get(pages::report_file))
        .route("/report.csv", get(pages::report_csv))
        .route("/sync", get(sync::page))
        .route("/sync/export.gpkg", post(sync::export))
        .route("/check", get(check::page))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/assets/{*name}", get(assets::serve))
        .route("/tiles/{z}/{x}/{y}", get(basemap::serve_tile))
        .route("/api/patrols", get(api::patrols))
        .route("/api/patrols/{id}", get(api::patrol))
        .route("/api/report", get(api::report))
        .route("/api/import", post(api::import))
        .route("/api/observations", post(api::add_observation))
        // Editing, deleting, restoring; a record's history (crate::edit).
        .route("/history/{id}", get(edit::history_page))
        .route("/deleted", get(edit::deleted_page))
        .route("/observations/{id}/edit", get(edit::observation_page))
        .route("/api/history/{id}", get(edit::history_api))
        .route("/api/patrols/{id}/edit", post(edit::edit_patrol))
        .route("/api/patrols/{id}/delete", post(edit::delete_patrol))
        .route("/api/patrols/{id}/restore", post(edit::restore_patrol))
        .route("/api/observations/{id}/edit", post(edit::edit_observation))
        .route(
            "/api/observations/{id}/delete",
            post(edit::delete_observation),
        )
        .route(
            "/api/observations/{id}/restore",
            post(edit::restore_observation),
        )
        .route("/api/merge", post(sync::merge))
        .route("/api/ledger", get(sync::ledger))
        .route("/api/conflicts", get(sync::conflicts))
        .route("/api/conflicts/resolve", post(sync::resolve))
        .route("/api/check", get(check::check))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::guard,
        ))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

/// Serve the database until Ctrl-C. The address is checked (beyond
/// loopback only with users) and the database opened before anything
/// listens; `listening` is told the address bound (the real port when 0 was
/// asked for).
pub fn run(opts: &Options, listening: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let (addr, loopback) = listen_address(&opts.listen)?;
    // A database that cannot be opened is said now, not at the first request.
    let store = patrol_store::Store::open(&opts.db)?;
    if !loopback && store.users()?.is_empty() {
        return Err(ServeError::NotLoopback(opts.listen.clone()));
    }
    drop(store);
    // So is a basemap the map cannot draw.
    let basemap = opts
        .basemap
        .as_deref()
        .map(basemap::Basemap::open)
        .transpose()
        .map_err(ServeError::Basemap)?;
    let state = Arc::new(State {
        db: opts.db.clone(),
        writer: std::sync::Mutex::new(()),
        listen: addr.ip(),
        sessions: (!loopback).then(auth::Sessions::default),
        basemap,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        listening(listener.local_addr()?);
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_told_from_beyond() {
        assert!(listen_address("127.0.0.1:0").unwrap().1);
        assert!(listen_address("[::1]:8080").unwrap().1);
        assert!(listen_address("localhost:8080").unwrap().1);
        for beyond in ["0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080"] {
            assert!(!listen_address(beyond).unwrap().1, "{beyond}");
        }
        let err = ServeError::NotLoopback("0.0.0.0:8080".into());
        assert!(err.to_string().contains("patrol user add"), "{err}");
        assert!(matches!(
            listen_address("nowhere"),
            Err(ServeError::BadAddress(_))
        ));
    }
}
